// The render thread: Handlebars over a view whose backends arrive only when they changed (the
// main thread sends each backend's view once, then refers to it by id). Rendering a 100,000-server
// config takes about a second: here it does not block the router's event loop.
import { parentPort } from 'node:worker_threads';
import { FabricError } from '../../src/errors.js';
import { createTemplateEngine, loadTemplate, type TemplateFn } from '../render.js';
import type { RenderReply, RenderRequest } from './protocol.js';

const templates = new Map<string, Promise<TemplateFn>>();
let backends = new Map<number, unknown>();

async function render(request: RenderRequest): Promise<string> {
  let template = templates.get(request.templatePath);
  if (!template) templates.set(request.templatePath, (template = loadTemplate(createTemplateEngine(), request.templatePath)));
  // Backends not named in this request are gone: forgotten here, as on the main thread.
  const next = new Map<number, unknown>();
  const list = request.backends.map(([id, view]) => {
    const known = view ?? backends.get(id);
    if (known === undefined) throw new FabricError('FABRIC_ERR_RENDER', `render thread: backend view ${id} was never sent`);
    next.set(id, known);
    return known;
  });
  backends = next;
  return (await template)({ ...request.view, backends: list });
}

parentPort!.on('message', (request: RenderRequest) => {
  render(request).then(
    (text) => parentPort!.postMessage({ id: request.id, text } satisfies RenderReply),
    (err: unknown) => {
      const code = err instanceof FabricError ? err.code : 'FABRIC_ERR_RENDER';
      parentPort!.postMessage({ id: request.id, error: { code, message: err instanceof Error ? err.message : String(err) } } satisfies RenderReply);
    },
  );
});
