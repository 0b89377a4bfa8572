import net from 'node:net';

export interface CuttableProxy {
  /** The target URL with this proxy's host and port in its place. */
  url: string;
  /** Drops every open connection and refuses new ones, as when the database host goes away. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/**
 * A TCP hop to a server (PostgreSQL here) that a test can cut. Bytes pass as they are:
 * faulty-proxy.ts speaks HTTP, a database protocol needs a plain pipe.
 */
export async function cuttableProxy(target: URL): Promise<CuttableProxy> {
  const open = new Set<net.Socket>();
  let down = false;
  const server = net.createServer((client) => {
    if (down) return void client.destroy();
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      open.add(from);
      from.on('error', () => to.destroy());
      from.on('close', () => (open.delete(from), to.destroy()));
      from.pipe(to);
    }
  });
  const drop = () => open.forEach((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url: url.toString(),
    cut() {
      down = true;
      drop();
    },
    restore() {
      down = false;
    },
    close: () => new Promise<void>((resolve) => (drop(), server.close(() => resolve()))),
  };
}
