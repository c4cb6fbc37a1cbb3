// A DNS responder on loopback for pebble's `-dnsserver`: A 127.0.0.1 for every name, so the CA
// validates HTTP-01 against a router on this machine. Tests can refuse names (NXDOMAIN) or hold
// every query unanswered (a CA stuck validating), and see which names were asked for.
import dgram from 'node:dgram';

export class DnsResponder {
  /** Names (lower case) answered NXDOMAIN. */
  readonly refused = new Set<string>();
  /** While set, queries get no answer at all. */
  hold = false;
  /** Every A/AAAA name asked for, in order. */
  readonly queries: string[] = [];

  private constructor(
    private readonly socket: dgram.Socket,
    readonly port: number,
  ) {}

  static async start(): Promise<DnsResponder> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    const dns = new DnsResponder(socket, socket.address().port);
    socket.on('message', (query, peer) => dns.answer(query, peer));
    return dns;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private answer(query: Buffer, peer: dgram.RemoteInfo): void {
    if (query.length < 12) return;
    // The question: labels up to the zero byte, then type and class.
    let at = 12;
    const labels: string[] = [];
    while (at < query.length && query[at]! > 0) {
      labels.push(query.subarray(at + 1, at + 1 + query[at]!).toString('ascii'));
      at += query[at]! + 1;
    }
    const questionEnd = at + 5;
    if (questionEnd > query.length) return;
    const type = query.readUInt16BE(at + 1);
    const name = labels.join('.').toLowerCase();
    if (type === 1 || type === 28) this.queries.push(name);
    if (this.hold) return;
    const nx = this.refused.has(name);
    const a = type === 1 && !nx;
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // id
    header.writeUInt16BE(0x8400 | (query.readUInt16BE(2) & 0x0100) | (nx ? 3 : 0), 2); // response, authoritative, RD copied, rcode
    header.writeUInt16BE(1, 4); // one question
    header.writeUInt16BE(a ? 1 : 0, 6); // answers: A records only (AAAA, CAA…: none)
    const question = query.subarray(12, questionEnd);
    // Name: a pointer to the question's (offset 12); type A, class IN, TTL 1 s, 4 bytes: 127.0.0.1.
    const record = a ? Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 127, 0, 0, 1]) : Buffer.alloc(0);
    this.socket.send(Buffer.concat([header, question, record]), peer.port, peer.address);
  }
}
