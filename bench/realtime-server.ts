/**
 * A server for bench/realtime.ts, one per child process, driven over IPC:
 *
 *   node --expose-gc --import tsx bench/realtime-server.ts stoa   # DATABASE_URL / REDIS_URL from the environment
 *   node --expose-gc --import tsx bench/realtime-server.ts bare [string|buffer]
 *
 * `stoa` is the whole app (production settings, rate limiting and load shedding off so 5,000 streams of one
 * key are admitted, the stream cap raised to 10,000) with an admin API key; events are committed through the
 * posts service, as a request would. `bare` is the floor: an http server with a `ws` WebSocketServer that
 * answers `subscribe` with `subscribed` and broadcasts one JSON string to every socket, and an SSE route that
 * writes one frame to every response.
 *
 * First message to the parent: `{ready, port, apiKey}`. Then requests `{id, cmd, ...}` answered `{id, ...}`:
 *   mem                       → memory after two full GCs, and how many sockets/streams the server holds
 *   cpu                       → `us`: this process's CPU time so far (user + system, microseconds)
 *   commit                    → one event committed (stoa: a post; bare: a broadcast on both transports), `t` = epoch ms after
 *   chat                      → one chat message published to `chat:bench` (stoa only)
 *   rate {rate, seconds}      → events at `rate` a second for `seconds`; `times` = [[resource id, epoch ms of commit]]
 *   snap                      → a heap snapshot in /tmp after a full GC (stoa only; to see what a connection holds)
 */
import { randomBytes } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createContainer } from '../src/container.ts';
import type { Principal } from '../src/domain/shared/principal.ts';

const mode = process.argv[2];
const now = () => performance.timeOrigin + performance.now();
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const reply = (message: object) => process.send!(message);
const cpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

function memory() {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap_used: m.heapUsed, external: m.external, array_buffers: m.arrayBuffers };
}

/**
 * Sends at `rate` a second for `seconds`, each `emit` started on schedule (not after the previous one finished),
 * at most `inFlight` at once: a server that cannot keep up falls behind the schedule (the achieved rate says so)
 * instead of queueing without bound.
 */
async function atRate(rate: number, seconds: number, emit: (i: number) => Promise<[string, number]>, inFlight = 8): Promise<[string, number][]> {
  const total = Math.round(rate * seconds);
  const started = now();
  const pending: Promise<[string, number]>[] = [];
  const running = new Set<Promise<unknown>>();
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    while (running.size >= inFlight) await Promise.race(running);
    const sent = emit(i);
    const tracked = sent.finally(() => running.delete(tracked));
    running.add(tracked);
    pending.push(sent);
  }
  return Promise.all(pending);
}

if (mode === 'stoa') {
  const schema = process.env.DATABASE_URL ? `bench_${randomBytes(4).toString('hex')}` : undefined;
  const config = loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    STOA_DATA_DIR: 'memory',
    STOA_LOAD_SHEDDING: 'off',
    STOA_RATE_LIMIT: 'off',
    STOA_SEED_DEMO: 'false',
    STOA_STREAMS_PER_PRINCIPAL: '10000',
    STOA_ADMIN_EMAIL: 'admin@bench.test',
    STOA_ADMIN_PASSWORD: 'bench-password',
    ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
  });
  const container = await createContainer(config, schema ? { schema } : {});
  const admin = await container.users.ensureAdmin('admin@bench.test', 'bench-password', 'Bench Admin');
  const actor: Principal = { userId: admin.id, role: 'admin', plan: 'free', via: 'session', apiKeyId: null, scopes: null, apiVersion: null };
  const { secret: apiKey } = await container.apiKeys.createForUser(admin.id, { name: 'bench', scopes: ['posts:read', 'orders:read'] });
  const app = await buildApp(container);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const commit = async (i: number): Promise<[string, number]> => {
    const post = await container.posts.create(actor, { title: `bench ${i}`, content: 'A post committed by the realtime bench.' });
    return [post.id, now()];
  };
  let n = 0;
  process.on('message', (request: { id: number; cmd: string; rate?: number; seconds?: number }) => {
    void (async () => {
      switch (request.cmd) {
        case 'mem':
          return reply({ id: request.id, ...memory(), held: container.realtime.hub.subscriberCount });
        case 'snap': {
          gc();
          const { writeHeapSnapshot } = await import('node:v8');
          return reply({ id: request.id, file: writeHeapSnapshot(`/tmp/stoa-${Date.now()}.heapsnapshot`) });
        }
        case 'commit': {
          const cpu = cpuMicros();
          const [resource, t] = await commit(n++);
          return reply({ id: request.id, resource, t, commit_us: cpuMicros() - cpu });
        }
        case 'cpu':
          return reply({ id: request.id, us: cpuMicros() });
        case 'chat': {
          const t = now();
          await container.realtime.chat.publish({ room: 'bench', data: { n: n++ }, from: admin.id, sent_at: new Date().toISOString() });
          return reply({ id: request.id, t });
        }
        case 'rate':
          return reply({ id: request.id, times: await atRate(request.rate!, request.seconds!, () => commit(n++)) });
      }
    })().catch((error: unknown) => reply({ id: request.id, error: String(error) }));
  });
  process.on('disconnect', () => {
    void app
      .close()
      .then(() => container.close())
      .then(async () => {
        if (schema) {
          const pg = (await import('pg')).default;
          const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
          await client.connect();
          await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          await client.end();
        }
      })
      .finally(() => process.exit(0));
  });
  reply({ ready: true, port: typeof address === 'object' && address ? address.port : 0, apiKey });
} else if (mode === 'bare') {
  const sendBuffer = process.argv[3] === 'buffer';
  const sockets = new Set<WebSocket>();
  const streams = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    res.write('retry: 3000\n\n');
    streams.add(res);
    req.on('close', () => streams.delete(res));
  });
  const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false });
  wss.on('connection', (socket) => {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; id: string; channel: string };
      if (message.type === 'subscribe') {
        sockets.add(socket);
        socket.send(JSON.stringify({ type: 'subscribed', id: message.id, channel: message.channel }));
      }
    });
    socket.on('close', () => sockets.delete(socket));
  });
  let n = 0;
  const broadcast = (i: number): [string, number] => {
    const t = now();
    // Stoa's event message byte for byte (ids of the same length, the post's fields in the order jsonb keeps
    // them): serialized once, sent to every socket as a string, or with `buffer` as one shared Buffer.
    const resource = `pst_bare${String(i).padStart(22, '0')}`;
    const event = { id: `evt_bare${String(i).padStart(22, '0')}`, sequence: i + 1, type: 'post.created', resource_type: 'post', resource_id: resource, data: { id: resource, likes: 0, title: `bench ${i}`, content: 'A post committed by the realtime bench.', author_id: 'usr_bare0000000000000000000000', created_at: new Date().toISOString(), updated_at: new Date().toISOString() }, created_at: new Date().toISOString() };
    const text = JSON.stringify({ type: 'event', id: 'bench', channel: 'events', event });
    if (sendBuffer) {
      const payload = Buffer.from(text);
      for (const socket of sockets) socket.send(payload, { binary: false });
    } else {
      for (const socket of sockets) socket.send(text);
    }
    const frame = `id: ${event.sequence}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
    for (const res of streams) res.write(frame);
    return [resource, t];
  };
  process.on('message', (request: { id: number; cmd: string; rate?: number; seconds?: number }) => {
    void (async () => {
      switch (request.cmd) {
        case 'mem':
          return reply({ id: request.id, ...memory(), held: sockets.size + streams.size });
        case 'commit': {
          const [resource, t] = broadcast(n++);
          return reply({ id: request.id, resource, t });
        }
        case 'cpu':
          return reply({ id: request.id, us: cpuMicros() });
        case 'rate':
          return reply({ id: request.id, times: await atRate(request.rate!, request.seconds!, async () => broadcast(n++)) });
      }
    })().catch((error: unknown) => reply({ id: request.id, error: String(error) }));
  });
  process.on('disconnect', () => {
    for (const res of streams) res.destroy();
    for (const socket of sockets) socket.terminate();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  reply({ ready: true, port: typeof address === 'object' && address ? address.port : 0 });
} else {
  process.stderr.write('usage: realtime-server.ts stoa | bare (started by bench/realtime.ts over IPC)\n');
  process.exit(2);
}
