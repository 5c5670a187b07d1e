/**
 * A scripted text peer for the Voyant 2035 driver tests: it hands every line the driver sends
 * to the test's script and writes whatever raw bytes the test tells it to, malformed ones
 * included, so the driver's handling of a misbehaving bridge can be shown line by line.
 */
import net from 'node:net';

export type LineScript = (line: string, conn: net.Socket) => void;

export class LinePeer {
  readonly #server: net.Server;
  readonly sockets: net.Socket[] = [];

  constructor(script: LineScript) {
    this.#server = net.createServer((socket) => {
      this.sockets.push(socket);
      socket.on('error', () => undefined);
      let rest = '';
      socket.on('data', (chunk: Buffer) => {
        const lines = (rest + chunk.toString('utf8')).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) script(line, socket);
      });
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return (this.#server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** Answers LOGIN and SNAPSHOT like an empty bridge; other lines go to `rest`. */
export function emptyBridge(rest: LineScript = () => undefined): LineScript {
  return (line, conn) => {
    const [tag, verb] = line.split(' ');
    if (verb === 'LOGIN') conn.write(`${tag} OK model=test\n`);
    else if (verb === 'SNAPSHOT') conn.write(`${tag} OK seq=0 at=1 total=1344 used=0 reserved=0\n`);
    else rest(line, conn);
  };
}
