/**
 * npm run chaos [-- --short]: three Stoa processes on a private PostgreSQL cluster and Redis, under a
 * steady mixed load (keyed orders and charges, reads, SSE streams, webhook endpoints, report jobs),
 * through kill -9 of a process at four moments, Redis stopped for 20 s and PostgreSQL restarted.
 * Afterwards SQL is compared with what the clients saw acknowledged. Prints a table; exits 1 when
 * an invariant breaks.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startStoa, type StoaProcess } from '../../test/helpers/process.ts';
import { Receiver } from './receiver.ts';
import { startPrivateServices, type PrivateServices } from './services.ts';
import { Ledger, type Phase } from './ledger.ts';
import { Streams } from './streams.ts';

const { values: args } = parseArgs({ options: { short: { type: 'boolean', default: false }, 'pg-port': { type: 'string', default: '5499' }, 'redis-port': { type: 'string', default: '6399' } } });
const SHORT = args.short === true;
const STEADY_MS = SHORT ? 8_000 : 30_000;
const REDIS_DOWN_MS = 20_000;
const REQUEST_TIMEOUT_MS = 15_000;
const USERS = SHORT ? 3 : 5;
const HOLD_AFTER = 2;
const ADMIN = { email: 'chaos-admin@example.com', password: 'chaos admin password 1' };
const PRODUCT_STOCK = 1_000_000;
const EVENT_TYPES = ['order.created', 'charge.created', 'charge.succeeded'] as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stdout.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

const JWT_KEYS = JSON.stringify([{ ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid: 'chaos' }]);

interface Slot {
  index: number;
  proc: StoaProcess | undefined;
  /** Killed by the run (not a crash). */
  killedByUs: boolean;
  crashes: string[];
}

async function main(): Promise<number> {
  const services = startPrivateServices({ pgPort: Number(args['pg-port']), redisPort: Number(args['redis-port']), name: 'stoa-chaos' });
  const cleanups: Array<() => Promise<void> | void> = [() => services.remove()];
  const onSignal = () => {
    void Promise.allSettled(cleanups.reverse().map((c) => c())).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await chaos(services, cleanups);
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  }
}

async function chaos(services: PrivateServices, cleanups: Array<() => Promise<void> | void>): Promise<number> {
  const receiver = new Receiver(300);
  await receiver.start();
  cleanups.push(() => receiver.close());

  const baseEnv = (hold: boolean): Record<string, string> => ({
    DATABASE_URL: services.databaseUrl,
    REDIS_URL: services.redisUrl,
    STOA_DATA_DIR: 'memory',
    STOA_JWT_KEYS: JWT_KEYS,
    STOA_LOAD_SHEDDING: 'off',
    STOA_SEED_DEMO: 'false',
    STOA_PASSWORD_HASH_COST: '12',
    STOA_ADMIN_EMAIL: ADMIN.email,
    STOA_ADMIN_PASSWORD: ADMIN.password,
    STOA_WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
    STOA_WEBHOOK_RETRY_SCHEDULE: '500ms,1s,1s,2s,2s,5s,5s,5s,10s,10s',
    STOA_WORKER_POLL_MS: '100',
    STOA_WORKER_LEASE_MS: '2000',
    STOA_REPORT_STEP_ORDERS: '5',
    STOA_PROCESSOR_SLOW_MS: '1500',
    // The plans fail open (decided on each process's own counters while Redis is away); login fails closed.
    STOA_RATE_LIMIT_FREE: '1000000/1m fail-open',
    STOA_RATE_LIMIT_ADMIN: '1000000/1m fail-open',
    STOA_RATE_LIMIT_WRITES: '1000000/1m fail-open',
    STOA_RATE_LIMIT_LOGIN_IP: '100000/1m fail-closed',
    STOA_RATE_LIMIT_LOGIN_ACCOUNT: '100000/1m fail-closed',
    ...(hold ? { STOA_TEST_HOLD_JOB_AFTER_STEP: String(HOLD_AFTER) } : {}),
  });

  const slots: Slot[] = [0, 1, 2].map((index) => ({ index, proc: undefined, killedByUs: false, crashes: [] }));
  const launch = async (slot: Slot, hold: boolean) => {
    const proc = await startStoa({ ...baseEnv(hold), LOG_LEVEL: 'warn' }, 90_000);
    slot.proc = proc;
    slot.killedByUs = false;
    proc.child.once('exit', (code, signal) => {
      if (!slot.killedByUs && !stopping) slot.crashes.push(`process ${slot.index} exited (${code ?? signal}):\n${proc.output().slice(-3000)}`);
      if (slot.proc === proc) slot.proc = undefined;
    });
  };
  let stopping = false;
  cleanups.push(async () => {
    stopping = true;
    await Promise.all(slots.map((s) => (s.proc ? s.proc.stop() : undefined)));
  });
  // The first migrates alone. Until they are killed and restarted, they hold a report job after HOLD_AFTER of
  // their steps (between two committed steps), where the run kills them.
  await launch(slots[0]!, true);
  await Promise.all([launch(slots[1]!, true), launch(slots[2]!, true)]);
  log(`three processes up: ${slots.map((s) => s.proc!.url).join(' ')}`);

  const ledger = new Ledger(REQUEST_TIMEOUT_MS, () => slots.filter((s) => s.proc).map((s) => s.proc!.url));
  const db = new pg.Pool({ connectionString: services.databaseUrl, max: 2 });
  db.on('error', () => {});
  cleanups.push(() => db.end());

  ledger.begin('setup');
  // Setup: the admin, a product, load users with a webhook endpoint each, one SSE stream each.
  const admin = await ledger.login(ADMIN.email, ADMIN.password);
  const product = await ledger.setup('POST', '/v1/products', admin, { name: 'Chaos stock', category: 'chaos', price: 500, currency: 'EUR', stock: PRODUCT_STOCK });
  const productId = String(product.id);
  const users: Array<{ id: string; auth: string; email: string; endpointId: string }> = [];
  for (let i = 0; i < USERS; i++) {
    const email = `chaos.${i}.${randomUUID()}@example.com`;
    const created = await ledger.setup('POST', '/v1/users', undefined, { email, name: `Chaos ${i}`, password: 'chaos user password 1' });
    const auth = await ledger.login(email, 'chaos user password 1');
    const endpoint = await ledger.setup('POST', '/v1/webhook-endpoints', auth, { url: `http://127.0.0.1:${receiver.port}/u/${i}`, event_types: [...EVENT_TYPES] });
    users.push({ id: String(created.id), auth, email, endpointId: String(endpoint.id) });
  }
  const streams = new Streams(() => slots.filter((s) => s.proc).map((s) => s.proc!.url));
  users.forEach((u, i) => {
    streams.open(`sse:${i}`, u.auth);
    streams.openWs(`ws:${i}`, u.auth, [...EVENT_TYPES]);
  });
  cleanups.push(() => streams.closeAll());
  await streams.ready();
  // Orders enough for a report of many steps.
  await Promise.all(users.map(async (user) => {
    for (let i = 0; i < 40 / USERS; i++) await ledger.keyed('order', user.auth, '/v1/orders', { items: [{ product_id: productId, quantity: 1 }] });
  }));

  // The steady load.
  let loading = true;
  const loaders = users.map(async (user) => {
    while (loading) {
      const roll = Math.random();
      if (roll < 0.45) await ledger.keyed('order', user.auth, '/v1/orders', { items: [{ product_id: productId, quantity: 1 + Math.floor(Math.random() * 3) }] });
      else if (roll < 0.7) await ledger.keyed('charge', user.auth, '/v1/charges', { amount: 100 + Math.floor(Math.random() * 900), currency: 'EUR', source: Math.random() < 0.3 ? 'tok_slow' : 'tok_visa' });
      else await ledger.read(user.auth, '/v1/orders?limit=5');
      await sleep(120 + Math.random() * 80);
    }
  });
  const report = async () => {
    const job = await ledger.setup('POST', '/v1/reports', admin, { type: 'sales', from: '2020-01-01', to: '2099-12-31', callback_url: `http://127.0.0.1:${receiver.port}/jobs` });
    ledger.jobs.push(String(job.id));
    return String(job.id);
  };

  const phase = (name: string): Phase => ledger.begin(name);
  const killSlot = async (slot: Slot) => {
    const proc = slot.proc!;
    slot.killedByUs = true;
    proc.child.kill('SIGKILL');
    await new Promise((r) => (proc.child.exitCode !== null || proc.child.signalCode !== null ? r(null) : proc.child.once('exit', r)));
  };
  const slotOfPid = (pid: number) => slots.find((s) => s.proc?.child.pid === pid);

  // Warm-up.
  phase('steady load');
  await sleep(STEADY_MS);

  // 1. kill -9 during a report job: whichever process holds it between two committed steps, until it is done.
  {
    const p = phase('kill -9: report job');
    const jobId = await report();
    const started = Date.now();
    let kills = 0;
    let lastKill = started;
    while (Date.now() - started < 180_000 && (await jobStatus(db, jobId)) !== 'succeeded') {
      const holder = slots.find((s) => s.proc?.output().includes(`job ${jobId} held after step ${HOLD_AFTER}`));
      if (holder) {
        lastKill = Date.now();
        await killSlot(holder);
        kills++;
        await launch(holder, false);
      }
      await sleep(100);
    }
    p.note(`${kills} process(es) killed while holding the report job`);
    if (kills === 0) p.violation('the report job finished before any process held it: the fault was not exercised');
    p.recovery((await jobStatus(db, jobId)) === 'succeeded' ? Date.now() : undefined, lastKill);
    await sleep(STEADY_MS / 2);
  }

  // 2. kill -9 during order creation: the process with the most orders in flight.
  {
    const p = phase('kill -9: order creation');
    let target: Slot | undefined;
    const until = Date.now() + 30_000;
    while (!target && Date.now() < until) {
      target = slots.find((s) => s.proc && ledger.inFlight('order', s.proc.url) > 0);
      if (!target) await sleep(10);
    }
    target ??= slots[0]!;
    const affected = ledger.pendingKeys('order', target.proc!.url);
    p.note(`${affected.length} order(s) in flight on the killed process`);
    const killedAt = Date.now();
    await killSlot(target);
    p.recovery(await waitUntil(() => affected.every((k) => k.settled), 60_000), killedAt);
    await launch(target, false);
    await sleep(STEADY_MS / 2);
  }

  // 3. kill -9 during charge processing: a slow charge accepted (pending at the processor), then its process dies.
  {
    const p = phase('kill -9: charge processing');
    const target = slots.find((s) => s.proc)!;
    const user = users[0]!;
    const charge = await ledger.keyed('charge', user.auth, '/v1/charges', { amount: 4242, currency: 'EUR', source: 'tok_slow' }, target.proc!.url);
    const chargeId = String(charge?.id ?? '');
    const killedAt = Date.now();
    if ((await chargeStatus(db, chargeId)) !== 'pending') p.note('the charge had settled before the kill');
    await killSlot(target);
    const recovered = await waitUntil(async () => (await chargeStatus(db, chargeId)) === 'succeeded', 90_000);
    p.recovery(recovered, killedAt);
    await launch(target, false);
    await sleep(STEADY_MS / 2);
  }

  // 4. kill -9 during a webhook delivery: the process that holds an open connection to the receiver.
  {
    const p = phase('kill -9: webhook delivery');
    let victim: { slot: Slot; eventId: string } | undefined;
    const until = Date.now() + 30_000;
    while (!victim && Date.now() < until) {
      for (const s of receiver.senders()) {
        const slot = slotOfPid(s.pid);
        if (slot) victim = { slot, eventId: s.eventId };
      }
      if (!victim) await sleep(20);
    }
    if (!victim) {
      p.note('no delivery in flight within 30 s');
    } else {
      const killedAt = Date.now();
      await killSlot(victim.slot);
      const eventId = victim.eventId;
      p.recovery(await waitUntil(() => (receiver.arrivals.get(eventId) ?? []).some((t) => t > killedAt), 90_000), killedAt);
      await launch(victim.slot, false);
    }
    await sleep(STEADY_MS / 2);
  }

  // 5. Redis stopped for 20 s: the plans fail open (no 429, no 5xx), login fails closed (429 + Retry-After).
  {
    const p = phase('Redis stopped 20 s');
    await services.stopRedis();
    const stoppedAt = Date.now();
    const logins = { refused: 0, refusedWithoutRetryAfter: 0, admitted: 0, other: 0 };
    while (Date.now() - stoppedAt < REDIS_DOWN_MS) {
      const res = await ledger.loginAttempt(users[1]!.email, 'chaos user password 1');
      if (res.status === 429) {
        logins.refused++;
        if (!res.retryAfter) logins.refusedWithoutRetryAfter++;
      } else if (res.status === 200) logins.admitted++;
      else logins.other++;
      await sleep(500);
    }
    p.note(`logins while Redis was down: ${logins.refused} refused (429), ${logins.admitted} admitted, ${logins.other} other`);
    if (logins.refused === 0) p.violation('login (fail-closed) was never refused while Redis was down');
    if (logins.admitted > 0) p.violation(`login (fail-closed) was admitted ${logins.admitted} time(s) while Redis was down`);
    if (logins.refusedWithoutRetryAfter > 0) p.violation(`${logins.refusedWithoutRetryAfter} fail-closed refusal(s) without Retry-After`);
    const back = Date.now();
    await services.startRedis();
    const recovered = await waitUntil(async () => (await ledger.loginAttempt(users[1]!.email, 'chaos user password 1')).status === 200, 60_000);
    p.recovery(recovered, back);
    await sleep(STEADY_MS / 2);
  }

  // 6. PostgreSQL restarted mid-load: 503 + Retry-After in the gap, /readyz says so, service resumes alone.
  {
    const p = phase('PostgreSQL restarted');
    const readyz = { notReady: 0, ready: 0, other: 0 };
    let probing = true;
    const probe = (async () => {
      while (probing) {
        for (const s of slots) {
          if (!s.proc) continue;
          const status = await fetch(`${s.proc.url}/readyz`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }).then((r) => r.status, () => 0);
          if (status === 503) readyz.notReady++;
          else if (status === 200) readyz.ready++;
          else readyz.other++;
        }
        await sleep(100);
      }
    })();
    const started = Date.now();
    await services.restartPostgres();
    const recovered = await waitUntil(async () => {
      for (const s of slots) {
        if (!s.proc) return false;
        const res = await fetch(`${s.proc.url}/v1/orders?limit=1`, { headers: { authorization: users[0]!.auth }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }).catch(() => undefined);
        if (res?.status !== 200) return false;
      }
      return true;
    }, 60_000);
    p.recovery(recovered, started);
    await sleep(2_000);
    probing = false;
    await probe;
    p.note(`/readyz during the restart: ${readyz.notReady} × 503, ${readyz.ready} × 200, ${readyz.other} other`);
    if (readyz.other > 0) p.violation(`/readyz answered neither 200 nor 503 ${readyz.other} time(s)`);
    await sleep(STEADY_MS / 2);
  }

  // Drain: the load stops; every key resolves, charges settle, deliveries and jobs finish, streams catch up.
  phase('drain');
  loading = false;
  await Promise.all(loaders);
  await ledger.settled(120_000);
  log('load stopped; waiting for the system to converge');
  const verdict = await verify({ db, ledger, receiver, streams, users, productId });
  for (const slot of slots) for (const crash of slot.crashes) ledger.phases[0]!.violation(`crash: ${crash}`);
  const table = ledger.table(verdict);
  process.stdout.write(`\n${table}\n`);
  const violations = [...ledger.phases.flatMap((p) => p.violations.map((v) => `${p.name}: ${v}`)), ...verdict.violations];
  for (const p of ledger.phases) {
    const codes = Object.entries(p.codes).map(([c, n]) => `${c}×${n}`).join(', ');
    for (const n of [...p.notes, ...(codes ? [`answers: ${codes}`] : [])]) process.stdout.write(`  note (${p.name}): ${n}\n`);
  }
  if (violations.length > 0) {
    process.stdout.write(`\nINVARIANTS BROKEN (${violations.length}):\n${violations.map((v) => `  - ${v}`).join('\n')}\n`);
    return 1;
  }
  process.stdout.write('\nall invariants held\n');
  return 0;
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number | undefined> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve(check()).catch(() => false)) return Date.now();
    if (Date.now() > until) return undefined;
    await sleep(100);
  }
}

async function jobStatus(db: pg.Pool, id: string): Promise<string | undefined> {
  return (await db.query<{ status: string }>('SELECT status FROM jobs WHERE id = $1', [id])).rows[0]?.status;
}

async function chargeStatus(db: pg.Pool, id: string): Promise<string | undefined> {
  return (await db.query<{ status: string }>('SELECT status FROM charges WHERE id = $1', [id])).rows[0]?.status;
}

interface VerifyInput {
  db: pg.Pool;
  ledger: Ledger;
  receiver: Receiver;
  streams: Streams;
  users: Array<{ id: string; auth: string; endpointId: string }>;
  productId: string;
}

export interface Verdict {
  violations: string[];
  /** Per phase name: lost and doubled items found by SQL. */
  lost: Map<string, number>;
  doubled: Map<string, number>;
}

async function verify({ db, ledger, receiver, streams, users, productId }: VerifyInput): Promise<Verdict> {
  const verdict: Verdict = { violations: [], lost: new Map(), doubled: new Map() };
  const add = (map: Map<string, number>, phase: string, n = 1) => map.set(phase, (map.get(phase) ?? 0) + n);
  const userIds = users.map((u) => u.id);

  // Orders and charges: exactly the acknowledged rows, one per key.
  for (const kind of ['order', 'charge'] as const) {
    const table = kind === 'order' ? 'orders' : 'charges';
    const rows = (await db.query<{ id: string; created_at: Date; status: string }>(`SELECT id, created_at, status FROM ${table} WHERE user_id = ANY($1)`, [userIds])).rows;
    const inDb = new Map(rows.map((r) => [r.id, r]));
    const acked = new Map<string, string>();
    for (const key of ledger.keys.filter((k) => k.kind === kind)) {
      if (!key.settled) verdict.violations.push(`${kind} key ${key.key} never got a final answer`);
      if (key.ids.size > 1) add(verdict.doubled, key.phase, key.ids.size - 1);
      for (const id of key.ids) {
        acked.set(id, key.phase);
        if (!inDb.has(id)) add(verdict.lost, key.phase);
      }
    }
    for (const row of rows) if (!acked.has(row.id)) add(verdict.doubled, ledger.phaseAt(row.created_at.getTime()));
  }
  // Charges: every one settles (a pending charge whose process died is submitted again by a worker).
  const chargesUntil = Date.now() + 90_000;
  for (;;) {
    const pending = (await db.query<{ id: string; status: string }>(`SELECT id, status FROM charges WHERE user_id = ANY($1) AND status <> 'succeeded'`, [userIds])).rows;
    if (pending.length === 0) break;
    if (Date.now() > chargesUntil) {
      verdict.violations.push(`${pending.length} charge(s) not succeeded 90 s after the load stopped: ${pending.slice(0, 5).map((r) => `${r.id}=${r.status}`).join(', ')}`);
      break;
    }
    await sleep(500);
  }

  // Stock: taken once per ordered unit, and the ordered units are the acknowledged ones.
  const stock = (await db.query<{ stock: number }>('SELECT stock FROM products WHERE id = $1', [productId])).rows[0]!.stock;
  const orderedUnits = Number((await db.query<{ n: string }>('SELECT coalesce(sum(quantity), 0) AS n FROM order_items WHERE product_id = $1', [productId])).rows[0]!.n);
  const ackedUnits = ledger.keys.filter((k) => k.kind === 'order' && k.ids.size > 0).reduce((sum, k) => sum + k.units, 0);
  if (stock !== PRODUCT_STOCK - orderedUnits) verdict.violations.push(`stock ${stock} ≠ ${PRODUCT_STOCK} − ${orderedUnits} units in order_items`);
  if (orderedUnits !== ackedUnits) verdict.violations.push(`order_items hold ${orderedUnits} units, clients were acknowledged ${ackedUnits}`);

  // Events: every event of a user reaches that user's stream and webhook endpoint at least once.
  const until = Date.now() + 90_000;
  for (;;) {
    const missing = await missingEvents(db, receiver, streams, users);
    if (missing.total === 0 || Date.now() > until) {
      for (const m of missing.items) add(verdict.lost, ledger.phaseAt(m.at));
      if (missing.total > 0) verdict.violations.push(`${missing.streams} event(s) never reached their SSE stream, ${missing.sockets} their WebSocket, ${missing.webhooks} never reached their endpoint (${missing.sample})`);
      break;
    }
    await sleep(500);
  }
  const failedDeliveries = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE status <> 'succeeded'`)).rows[0]!.n;
  if (failedDeliveries > 0) verdict.violations.push(`${failedDeliveries} webhook deliveries not succeeded`);

  // Jobs: every one finished, and its callback arrived.
  const jobUntil = Date.now() + 120_000;
  for (;;) {
    const jobs = (await db.query<{ id: string; status: string; error: unknown }>('SELECT id, status, error FROM jobs WHERE id = ANY($1)', [ledger.jobs])).rows;
    const unfinished = jobs.filter((j) => j.status !== 'succeeded');
    const calledBack = receiver.seen.get('/jobs')?.size ?? 0;
    if (unfinished.length === 0 && jobs.length === ledger.jobs.length && calledBack >= jobs.length) break;
    if (Date.now() > jobUntil) {
      if (unfinished.length > 0) verdict.violations.push(`job(s) not finished: ${unfinished.map((j) => `${j.id}=${j.status} ${JSON.stringify(j.error ?? '')}`).join(', ')}`);
      if (calledBack < jobs.length) verdict.violations.push(`${jobs.length - calledBack} job callback(s) missing`);
      break;
    }
    await sleep(500);
  }
  return verdict;
}

async function missingEvents(db: pg.Pool, receiver: Receiver, streams: Streams, users: Array<{ id: string }>) {
  const items: Array<{ at: number }> = [];
  let streamsMissing = 0;
  let socketsMissing = 0;
  let webhooksMissing = 0;
  let sample = '';
  for (const [i, user] of users.entries()) {
    const events = (
      await db.query<{ id: string; sequence: number; type: string; created_at: Date }>(
        `SELECT id, sequence, type, created_at FROM events WHERE $1 = ANY(audience) AND type = ANY($2) ORDER BY sequence`,
        [user.id, [...EVENT_TYPES]],
      )
    ).rows;
    const streamed = streams.sequences(`sse:${i}`);
    const socketed = streams.sequences(`ws:${i}`);
    const delivered = receiver.seen.get(`/u/${i}`) ?? new Set();
    for (const e of events) {
      const noStream = !streamed.has(Number(e.sequence));
      const noSocket = !socketed.has(Number(e.sequence));
      if (noSocket) socketsMissing++;
      const noHook = !delivered.has(e.id);
      if (noStream) streamsMissing++;
      if (noHook) webhooksMissing++;
      if (noStream || noHook || noSocket) {
        items.push({ at: e.created_at.getTime() });
        if (!sample) sample = `e.g. ${e.type} #${e.sequence}${noStream ? ' not on SSE' : ''}${noSocket ? ' not on the WebSocket' : ''}${noHook ? ' not delivered' : ''}`;
      }
    }
  }
  return { total: items.length, streams: streamsMissing, sockets: socketsMissing, webhooks: webhooksMissing, items, sample };
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`chaos: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(2);
  },
);
