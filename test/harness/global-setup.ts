// Runs once per `vitest run`, in the main process: one private dockerd and the test image for all
// test files. Tests get them with inject('dockerSocket') / inject('testImage') (see context.ts).
// FABRIC_TEST_DOCKER_SOCK=/path/docker.sock reuses an engine that is already running.
import type { TestProject } from 'vitest/node';
import { dockerClient, startDockerd, stopDockerd } from './dockerd.js';
import { buildBusyboxImage, DEFAULT_TEST_IMAGE } from './image.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dockerSocket: string;
    testImage: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const reused = process.env.FABRIC_TEST_DOCKER_SOCK;
  const socketPath = reused ?? (await startDockerd()).socketPath;
  try {
    await buildBusyboxImage(dockerClient(socketPath), DEFAULT_TEST_IMAGE);
  } catch (error) {
    if (!reused) await stopDockerd(); // vitest runs no teardown when setup throws
    throw error;
  }
  project.provide('dockerSocket', socketPath);
  project.provide('testImage', DEFAULT_TEST_IMAGE);
  return async () => {
    if (!reused) await stopDockerd();
  };
}
