// Runs once per `vitest run`, in the main process: one private dockerd and the test image for all
// test files. Tests get them with inject('dockerSocket') / inject('testImage') (see context.ts).
// FABRIC_TEST_DOCKER_SOCK=/path/docker.sock reuses an engine that is already running.
import type { TestProject } from 'vitest/node';
import { type DockerEngine, dockerClient, startDockerd } from './dockerd.js';
import { buildBusyboxImage, DEFAULT_TEST_IMAGE } from './image.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dockerSocket: string;
    testImage: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const reused = process.env.FABRIC_TEST_DOCKER_SOCK;
  const engine: DockerEngine | undefined = reused ? undefined : await startDockerd();
  const socketPath = reused ?? engine!.socketPath;
  try {
    await buildBusyboxImage(dockerClient(socketPath), DEFAULT_TEST_IMAGE);
  } catch (error) {
    await engine?.stop(); // vitest runs no teardown when setup throws
    throw error;
  }
  project.provide('dockerSocket', socketPath);
  project.provide('testImage', DEFAULT_TEST_IMAGE);
  return async () => {
    await engine?.stop();
  };
}
