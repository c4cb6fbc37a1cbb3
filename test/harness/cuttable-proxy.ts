// A proxy a test can cut: while cut it accepts and at once closes every connection (counting
// them) and drops the open ones. Puts a real etcd or dockerd "away" without stopping it, so a
// test controls exactly when a client loses and regains it.
import net from 'node:net';

export type ListenOn = { path: string } | { host: string; port: number };

export class CuttableProxy {
  private readonly sockets = new Set<net.Socket>();
  private cutNow = false;
  /** Connections refused while cut. */
  refused = 0;
  /** Connections passed through. */
  forwarded = 0;

  private constructor(
    private readonly server: net.Server,
    private readonly target: net.NetConnectOpts,
  ) {
    server.on('connection', (client) => this.onConnection(client));
  }

  /** Listens on a unix path or a loopback port (port 0: any free one) and forwards to `target`. */
  static async start(listenOn: ListenOn, target: net.NetConnectOpts): Promise<CuttableProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if ('path' in listenOn) server.listen(listenOn.path, () => resolve());
      else server.listen(listenOn.port, listenOn.host, () => resolve());
    });
    return new CuttableProxy(server, target);
  }

  /** The TCP port it listens on (for a loopback listener). */
  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  cut(): void {
    this.cutNow = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  restore(): void {
    this.cutNow = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(client: net.Socket): void {
    client.on('error', () => {});
    if (this.cutNow) {
      this.refused += 1;
      client.destroy();
      return;
    }
    this.forwarded += 1;
    const upstream = net.connect(this.target);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
