import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';

/**
 * The webhook and job-callback receiver: records the event id of every POST by path, answers 200 after
 * `delayMs` (so deliveries are in flight long enough to kill their sender), and can tell which local
 * process holds an open delivery (by its socket, through `ss`).
 */
export class Receiver {
  readonly seen = new Map<string, Set<string>>();
  /** Event id → arrival times (ms), to see a delivery arrive again after its sender died. */
  readonly arrivals = new Map<string, number[]>();
  readonly inFlight = new Map<number, string>();
  port = 0;
  #server: Server | undefined;
  constructor(private readonly delayMs: number) {}

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        let id = String(req.headers['webhook-id'] ?? '');
        try {
          id = String((JSON.parse(body) as { id?: string }).id ?? id);
        } catch {
          // Not JSON: keep the header's id.
        }
        const remotePort = req.socket.remotePort ?? 0;
        this.inFlight.set(remotePort, id);
        setTimeout(() => {
          this.inFlight.delete(remotePort);
          if (res.destroyed) return;
          const path = req.url ?? '/';
          if (!this.seen.has(path)) this.seen.set(path, new Set());
          this.seen.get(path)!.add(id);
          const times = this.arrivals.get(id) ?? [];
          times.push(Date.now());
          this.arrivals.set(id, times);
          res.writeHead(200).end();
        }, this.delayMs);
      });
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    this.port = (this.#server.address() as { port: number }).port;
  }

  /** Pids of the local processes with a connection open to the receiver right now, with the event each is delivering. */
  senders(): Array<{ pid: number; eventId: string }> {
    const out = execFileSync('ss', ['-tnpH', 'state', 'established', `( dport = :${this.port} )`]).toString();
    const found: Array<{ pid: number; eventId: string }> = [];
    for (const line of out.split('\n')) {
      const local = /127\.0\.0\.1:(\d+)\s+127\.0\.0\.1:\d+/.exec(line);
      const pid = /pid=(\d+)/.exec(line);
      if (!local || !pid) continue;
      const eventId = this.inFlight.get(Number(local[1]));
      if (eventId) found.push({ pid: Number(pid[1]), eventId });
    }
    return found;
  }

  async close(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise((r) => this.#server?.close(r));
  }
}
