// What global-setup.ts provides, for use inside test files.

import type Docker from 'dockerode';
import { inject } from 'vitest';
import { dockerClient } from './dockerd.js';

export interface TestDocker {
  socketPath: string;
  /** unix://<socketPath>, for DOCKER_HOST and --docker flags. */
  dockerHost: string;
  image: string;
  docker: Docker;
}

export function testDocker(): TestDocker {
  const socketPath = inject('dockerSocket');
  return { socketPath, dockerHost: `unix://${socketPath}`, image: inject('testImage'), docker: dockerClient(socketPath) };
}
