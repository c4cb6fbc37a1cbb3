import Docker from 'dockerode';
import { FabricError } from '../src/errors.js';
import { type ContainerFacts, factsFromInspect, factsFromList } from './container.js';
import { Label } from './labels.js';

/** Connects to `--docker`: `unix:///path`, `tcp://host:port`, or DOCKER_HOST. */
export function dockerClient(url: string): Docker {
  if (url.startsWith('unix://')) return new Docker({ socketPath: url.slice('unix://'.length) });
  const parsed = new URL(url.replace(/^tcp:/, 'http:'));
  return new Docker({ host: parsed.hostname, port: Number(parsed.port || 2375), protocol: 'http' });
}

/** Ids per filtered list call: each id is 64 characters of the request's query string. */
const LIST_IDS_PER_CALL = 100;

/** Reads containers from the Docker engine; the only place the agent lists or inspects. */
export class DockerSource {
  constructor(readonly docker: Docker) {}

  /** Running (or paused) containers that opted in with `fabric.service`, with the facts the list gives. */
  async listLabelled(): Promise<ContainerFacts[]> {
    const containers = await this.call(() => this.docker.listContainers({ filters: { label: [Label.service] } }));
    return containers.map(factsFromList);
  }

  /**
   * The listed facts of these containers, in one list call per hundred (instead of one inspect
   * each); a container missing from the answer no longer exists.
   */
  async listByIds(ids: string[]): Promise<Map<string, ContainerFacts>> {
    const found = new Map<string, ContainerFacts>();
    for (let i = 0; i < ids.length; i += LIST_IDS_PER_CALL) {
      const id = ids.slice(i, i + LIST_IDS_PER_CALL);
      const containers = await this.call(() => this.docker.listContainers({ all: true, filters: { id } }));
      for (const c of containers) found.set(c.Id, factsFromList(c));
    }
    return found;
  }

  /** The container's facts, or undefined when it no longer exists. */
  async inspect(id: string): Promise<ContainerFacts | undefined> {
    try {
      return factsFromInspect(await this.docker.getContainer(id).inspect());
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw new FabricError('FABRIC_ERR_DOCKER_UNAVAILABLE', `inspect ${id.slice(0, 12)}: ${(err as Error).message}`, { cause: err });
    }
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new FabricError('FABRIC_ERR_DOCKER_UNAVAILABLE', (err as Error).message, { cause: err });
    }
  }
}
