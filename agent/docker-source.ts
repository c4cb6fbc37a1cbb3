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

/** Reads containers from the Docker engine; the only place the agent lists or inspects. */
export class DockerSource {
  constructor(readonly docker: Docker) {}

  /**
   * Running (or paused) containers that opted in with `fabric.service`, with the facts the list
   * gives; `all`: every running container (`--compat`: other tools' labels and environment opt in).
   */
  async listLabelled(all = false): Promise<ContainerFacts[]> {
    const containers = await this.call(() => this.docker.listContainers(all ? {} : { filters: { label: [Label.service] } }));
    return containers.map(factsFromList);
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
