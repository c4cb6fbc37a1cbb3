// The test image: the busybox web image `fabric up --demo` builds (up/image.ts), under the test tag.
import type Docker from 'dockerode';
import { buildBusyboxImage as build, DEFAULT_CMD } from '../../up/image.js';

export { DEFAULT_CMD };
export const DEFAULT_TEST_IMAGE = 'fabric-test:latest';

export async function buildBusyboxImage(docker: Docker, tag = DEFAULT_TEST_IMAGE): Promise<string> {
  return build(docker, tag);
}
