// A web image with nothing but a static busybox, imported with `docker import`: no registry, no
// network, a few MB, built in about a second. `fabric up --demo` and the test harness both use it.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { execa } from 'execa';

/** Debian's busybox-static. */
export const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'httpd', 'sleep', 'echo', 'printf', 'cat', 'wget', 'kill', 'true', 'false', 'nc', 'ls', 'mkdir', 'rm', 'ps', 'hostname'];
/** The image's default command: serve /www on port 80. */
export const DEFAULT_CMD = ['/bin/busybox', 'httpd', '-f', '-p', '80', '-h', '/www'];

/** Builds `tag` from `busybox`: rootfs → tar → import (with CMD and PATH). */
export async function buildBusyboxImage(docker: Docker, tag: string, busybox = BUSYBOX): Promise<string> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'fabric-image-'));
  try {
    const rootfs = path.join(work, 'rootfs');
    await writeRootfs(rootfs, busybox);
    const tarFile = path.join(work, 'rootfs.tar');
    await execa('tar', ['-C', rootfs, '-cf', tarFile, '.']);
    await importTar(docker, tarFile, tag);
    return tag;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

async function writeRootfs(rootfs: string, busybox: string): Promise<void> {
  for (const dir of ['bin', 'www', 'tmp', 'etc', 'proc', 'sys', 'dev']) {
    await fs.mkdir(path.join(rootfs, dir), { recursive: true });
  }
  await fs.chmod(path.join(rootfs, 'tmp'), 0o1777);
  await fs.copyFile(busybox, path.join(rootfs, 'bin/busybox'));
  await fs.chmod(path.join(rootfs, 'bin/busybox'), 0o755);
  for (const applet of APPLETS) await fs.symlink('busybox', path.join(rootfs, 'bin', applet));
  await fs.writeFile(path.join(rootfs, 'www/index.html'), 'ok');
}

/** POST /images/create?fromSrc=-; the response is a progress stream that ends when the import did. */
async function importTar(docker: Docker, tarFile: string, tag: string): Promise<void> {
  const [repo, version = 'latest'] = splitTag(tag);
  const progress = await docker.importImage(tarFile, {
    repo,
    tag: version,
    changes: [`CMD ${JSON.stringify(DEFAULT_CMD)}`, 'ENV PATH=/bin'],
  });
  const events = await new Promise<Array<{ error?: string }>>((resolve, reject) => {
    docker.modem.followProgress(progress, (error: Error | null, output: Array<{ error?: string }>) => (error ? reject(error) : resolve(output)));
  });
  const failed = events.find((event) => event.error);
  if (failed) throw new Error(`importing ${tag} failed: ${failed.error}`);
}

function splitTag(tag: string): [string, string | undefined] {
  const colon = tag.lastIndexOf(':');
  return colon > tag.lastIndexOf('/') ? [tag.slice(0, colon), tag.slice(colon + 1)] : [tag, undefined];
}
