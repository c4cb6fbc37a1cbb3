import net from 'node:net';

/** Whether `port` on `host` can be bound right now. */
export function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port the kernel hands out on `host` (free at the moment of asking). */
export function anyFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error(`no port bound on ${host}`))));
    });
  });
}

/** `preferred` if free, else any free port. */
export async function preferredPort(host: string, preferred: number): Promise<number> {
  return (await portIsFree(host, preferred)) ? preferred : anyFreePort(host);
}
