/**
 * `npm run fuzz [-- --seed S] [--minutes N] [--path P]`: a property-based run
 * over every operation of the served /v1 and /v2 OpenAPI documents against a
 * fresh in-process Stoa (embedded database, or PostgreSQL and Redis in a
 * scratch schema when DATABASE_URL / REDIS_URL are set). See README "Fuzz".
 */
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { servedDocuments } from '../../test/helpers/api-walk.ts';
import { build, caseArbitrary, describe, operationsOf, type Case } from './cases.ts';
import { judge, judgeAftermath, type Finding } from './oracle.ts';
import { classifyRequest } from './conformance.ts';
import { ACTOR_OWNER, Target, type Actor, type Owner } from './target.ts';

const { values: args } = parseArgs({
  options: { seed: { type: 'string' }, minutes: { type: 'string' }, path: { type: 'string' } },
});
const seed = args.seed === undefined ? (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 1 : Number(args.seed);
const minutes = Number(args.minutes ?? 2);
if (!Number.isInteger(seed) || !(minutes > 0)) throw new Error('usage: npm run fuzz -- [--seed <integer>] [--minutes <number>] [--path <fast-check path>]');

const started = Date.now();
console.log(`fuzz: seed ${seed}, ${minutes} minute(s), ${process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded database'}${process.env.REDIS_URL ? ' + Redis' : ''}`);
// A defect that breaks the HTTP exchange itself (bytes after a final answer, say) reaches Node's client outside any
// request's promise: report it as a finding with the request that caused it, rather than die without one.
let lastSent = '(none yet)';
process.on('uncaughtException', (error) => {
  console.log(`\n✗ the run stopped on an error outside any request: ${error.message}\n  the last request sent:\n  ${lastSent.replace(/\n/g, '\n  ')}\n  reproduce: npm run fuzz -- --seed ${seed}`);
  process.exit(1);
});

const target = await Target.start();
await target.listen();
const docs = await servedDocuments(target.app);
const ops = operationsOf(docs).filter(({ op }) => /^\/v[12]\//.test(op.path));
const arbitrary = caseArbitrary(ops);
const deadline = Date.now() + minutes * 60_000;
console.log(`fuzz: Stoa up with fixtures in ${((Date.now() - started) / 1000).toFixed(0)} s; ${ops.length} operations`);

let requests = 0;
let unsendable = 0;
const perOperation = new Map<number, number>();
const perStatus = new Map<number, number>();
/** Requests that fit the document (positive), break it (negative), or go outside it, as Schemathesis would sort them. */
const perVerdict = new Map<string, number>();
/** First sighting of each defect, and the ones already shown shrunk. */
const encountered = new Map<string, { finding: Finding; request: string }>();
const reported = new Map<string, { finding: Finding; request: string; reproduce: string }>();
/** Refusals Schemathesis's positive_data_acceptance would report that hang on state, not on the document (oracle STATE_REFUSALS). */
const stateRefusals = new Map<string, { message: string; count: number }>();

/** The JSON body a request carried, if it carried one under a JSON media type. */
function sentJson(options: { headers?: unknown; payload?: unknown }): { sentJson: { value: unknown } } | undefined {
  const type = String((options.headers as Record<string, string> | undefined)?.['content-type'] ?? '');
  if (options.payload === undefined || !/^application\/json\s*(;|$)/.test(type)) return undefined;
  try {
    return { sentJson: { value: JSON.parse(String(options.payload)) } };
  } catch {
    return undefined;
  }
}

/** Headers of a case whose fit depends on earlier requests: a fixed Idempotency-Key (reused), an If-Match not read from the resource. */
function statefulHeaders(c: Case): string[] {
  return [...(c.idempotencyKey === 'fresh' || c.idempotencyKey === 'none' ? [] : ['idempotency-key']), ...(c.ifMatch === 'none' || c.ifMatch === '*' || c.ifMatch === 'current' ? [] : ['if-match'])];
}

/**
 * A resource a 201 created can be read at its `self` link (by its creator when a person); a
 * resource a DELETE removed can no longer be read, even by an administrator.
 */
async function aftermath(c: Case, options: { method: string; url: string }, res: { statusCode: number; body: string }, template: string | undefined): Promise<Finding[]> {
  if (!template) return [];
  const op = `${options.method} ${template}`;
  if (res.statusCode === 201) {
    const self = (() => {
      try {
        return (JSON.parse(res.body) as { data?: { links?: { self?: string } } }).data?.links?.self;
      } catch {
        return undefined;
      }
    })();
    if (!self || !ops.some((o) => o.op.method === 'GET' && o.truth.templateOf('GET', self))) return [];
    // The creator reads it back; a sign-up makes someone else, and a key may lack the read scope: then the administrator does.
    const reader = c.actor === 'a' || c.actor === 'b' ? (/\/users$/.test(template) ? 'admin' : c.actor) : 'admin';
    const got = await target.send({ method: 'GET', url: self, headers: target.headersOf(reader) });
    requests += 1;
    return got ? judgeAftermath('created', op, self, got.statusCode) : [];
  }
  if (options.method === 'DELETE' && res.statusCode >= 200 && res.statusCode < 300 && !/\/followers\/me$|\/jobs\//.test(template)) {
    const path = options.url.split('?')[0]!;
    if (!ops.some((o) => o.op.method === 'GET' && o.truth.templateOf('GET', path))) return [];
    // use_after_free: the resource and what hangs under it (a post's comments, a user's posts) are gone.
    const findings: Finding[] = [];
    const deleted = template.replace(/\{[^}]+\}/g, '{}');
    const under = ops.filter((o) => o.op.method === 'GET' && o.op.path.replace(/\{[^}]+\}/g, '{}').startsWith(`${deleted}/`) && (o.op.path.match(/\{/g) ?? []).length === (template.match(/\{/g) ?? []).length);
    for (const url of [path, ...under.map((o) => path + o.op.path.slice(template.length))]) {
      const got = await target.send({ method: 'GET', url, headers: target.headersOf('admin') });
      requests += 1;
      if (got) findings.push(...judgeAftermath('deleted', op, url, got.statusCode));
    }
    return findings;
  }
  return [];
}

/** Successful writes that can take a fixture away: deletions, cancellations, account and order changes. */
function mayBreakFixtures(method: string, template: string): boolean {
  return method === 'DELETE' || /\/cancel$/.test(template) || (/^(PUT|PATCH)$/.test(method) && /\/(users|orders)\/\{id\}$/.test(template));
}

/** Sends one case and judges the answer; heals the fixtures when a write went through. */
async function execute(c: Case): Promise<{ findings: Finding[]; request: string }> {
  const { truth, op } = ops[c.op]!;
  const { options, pathOwner } = await build(c, ops, target);
  const writes = options.method !== 'GET' && options.method !== 'HEAD';
  const before = writes ? await target.digest() : undefined;
  lastSent = describe(options);
  const res = await target.send(options);
  if (!res) {
    unsendable += 1;
    return { findings: [], request: describe(options) };
  }
  const after = writes && res.statusCode >= 400 && res.statusCode < 500 ? await target.digest() : undefined;
  requests += 1;
  perOperation.set(c.op, (perOperation.get(c.op) ?? 0) + 1);
  perStatus.set(res.statusCode, (perStatus.get(res.statusCode) ?? 0) + 1);
  const verdict = classifyRequest(truth, { method: options.method, url: options.url, headers: options.headers as Record<string, string>, payload: options.payload === undefined ? undefined : String(options.payload), stateful: statefulHeaders(c) });
  perVerdict.set(verdict.kind, (perVerdict.get(verdict.kind) ?? 0) + 1);
  let findings = judge({
    truth,
    op,
    actor: c.actor,
    pathOwner,
    method: options.method,
    url: options.url,
    status: res.statusCode,
    contentType: res.headers['content-type'] as string | undefined,
    body: res.body,
    ...(res.headers.allow ? { allow: String(res.headers.allow) } : {}),
    headers: res.headers,
    sentHeaders: options.headers as Record<string, string>,
    ...(options.payload === undefined ? {} : { sentPayload: String(options.payload) }),
    stateful: statefulHeaders(c),
    privateIds: { a: target.privateIds('a'), b: target.privateIds('b') },
    ...(sentJson(options) ?? {}),
    ...(before ? { before } : {}),
    ...(after ? { after } : {}),
  });
  findings.push(...(await aftermath(c, options, res, truth.templateOf(options.method, options.url))));
  if (res.statusCode < 300 && mayBreakFixtures(options.method, op.path)) await target.heal([...new Set<Owner>([pathOwner ?? ACTOR_OWNER[c.actor] ?? 'a'])]);
  const request = describe(options);
  for (const f of findings.filter((f) => f.kind === 'known')) stateRefusals.set(f.key, { message: f.message, count: (stateRefusals.get(f.key)?.count ?? 0) + 1 });
  findings = findings.filter((f) => f.kind !== 'known');
  for (const f of findings) if (!encountered.has(f.key)) encountered.set(f.key, { finding: f, request: `${request}\n  → ${res.statusCode} ${String(res.headers['content-type'] ?? '')} ${res.body.slice(0, 300)}` });
  return { findings, request: `${request}\n  → ${res.statusCode} ${String(res.headers['content-type'] ?? '')} ${res.body.slice(0, 300)}` };
}

/**
 * Hand-written requests for defects found before (an outside run): they run
 * first, every time, through the same judge, so they stay fixed.
 */
async function standingProbes(): Promise<void> {
  const a = target.fixtures.a;
  const probes: Array<{ template: string; method: string; url: string; actor: Actor; headers?: Record<string, string>; connectionClose?: boolean }> = [
    { template: '/v2/posts/{id}', method: 'GET', url: '/v2/posts/%zz', actor: 'a' },
    { template: '/v2/posts/{id}', method: 'GET', url: `/v2/posts/${'x'.repeat(200)}`, actor: 'a' },
    { template: '/v2/posts/{id}', method: 'GET', url: `/v2/posts/${'y'.repeat(3000)}`, actor: 'a' },
    { template: '/v2/posts/{id}', method: 'GET', url: `/v2/posts/${a.posts}`, actor: 'a', headers: { 'x-padding': 'p'.repeat(17 * 1024) }, connectionClose: true },
    { template: '/v2/users', method: 'GET', url: '/v2/users?fields=role', actor: 'b' },
    { template: '/v2/users', method: 'GET', url: '/v2/users?fields=email,status', actor: 'b-key-read-only' },
    { template: '/v2/posts', method: 'GET', url: '/v2/posts?created_after=2026-02-01T00:00:00Z&created_before=2026-01-01T00:00:00Z', actor: 'a' },
    { template: '/v2/users/{id}/posts', method: 'GET', url: `/v2/users/${a.users}/posts?created_after=2026-02-01T00:00:00Z&created_before=2026-01-01T00:00:00Z`, actor: 'b' },
    { template: '/v2/users/{id}/posts', method: 'GET', url: '/v2/users/usr_0000000000000000/posts', actor: 'a' },
    { template: '/v2/orders', method: 'GET', url: '/v2/orders', actor: 'a', headers: { accept: 'text/csv' } },
    { template: '/v2/me', method: 'GET', url: '/v2/me?unknown=1', actor: 'a' },
    { template: '/v2/me', method: 'GET', url: '/v2/me', actor: 'a', headers: { accept: 'image/png' } },
    { template: '/v2/api-keys/{id}', method: 'GET', url: `/v2/api-keys/${a['api-keys']}?unknown=1`, actor: 'a' },
    { template: '/v2/orders', method: 'POST', url: '/v2/orders', actor: 'a', headers: { 'content-type': 'application/json' } },
    { template: '/v2/charges', method: 'POST', url: '/v2/charges', actor: 'a', headers: { 'content-type': 'application/json' } },
  ];
  for (const probe of probes) {
    const index = ops.findIndex(({ op }) => op.path === probe.template && op.method === probe.method);
    const { truth, op } = ops[index]!;
    const options = { method: probe.method, url: probe.url, headers: { ...target.headersOf(probe.actor), ...probe.headers }, ...(probe.method === 'POST' ? { payload: '{"items":[],"amount":1}' } : {}) };
    const res = await target.send(options);
    if (!res) throw new Error(`probe ${probe.method} ${probe.url.slice(0, 60)} could not be sent`);
    requests += 1;
    perOperation.set(index, (perOperation.get(index) ?? 0) + 1);
    perStatus.set(res.statusCode, (perStatus.get(res.statusCode) ?? 0) + 1);
    const findings = judge({ truth, op, actor: probe.actor, pathOwner: undefined, method: probe.method, url: probe.url, status: res.statusCode, contentType: res.headers['content-type'], body: res.body, privateIds: { a: target.privateIds('a'), b: target.privateIds('b') } });
    if (probe.connectionClose && res.headers.connection !== 'close') findings.push({ kind: 'document', key: `probe ${probe.url.slice(0, 40)} connection`, message: `a ${res.statusCode} that closes the connection did not say Connection: close` });
    const request = `${describe(options)}\n  → ${res.statusCode} ${res.headers['content-type'] ?? ''} ${res.body.slice(0, 300)}`;
    for (const f of findings) if (!reported.has(f.key)) reported.set(f.key, { finding: f, request, reproduce: 'npm run fuzz (standing probe)' });
    for (const f of findings) console.log(`\n✗ ${f.message}\n  standing probe:\n  ${request.replace(/\n/g, '\n  ')}`);
  }
  for (const key of reported.keys()) known.add(key);
}

/** Defects seen in earlier rounds: a round fails only on one not seen before. */
const known = new Set<string>();
const property = fc.asyncProperty(arbitrary, async (c) => (await execute(c)).findings.every((f) => known.has(f.key)));

await standingProbes();

for (let round = 0; Date.now() < deadline; round++) {
  const roundSeed = (seed + round) | 0;
  const result = await fc.check(property, {
    seed: roundSeed,
    ...(args.path && round === 0 ? { path: args.path, numRuns: 1 } : { numRuns: 10_000_000 }),
    interruptAfterTimeLimit: Math.max(1_000, deadline - Date.now()),
  });
  if (!result.failed) {
    if (args.path) console.log(`replayed ${args.path}: no new finding`);
    break;
  }
  const shrunk = result.counterexample![0] as Case;
  const { findings, request } = await execute(shrunk);
  const reproduce = `npm run fuzz -- --seed ${roundSeed} --path ${result.counterexamplePath}`;
  const fresh = findings.filter((f) => !known.has(f.key));
  for (const f of fresh) reported.set(f.key, { finding: f, request, reproduce });
  const failure = result.errorInstance instanceof Error ? result.errorInstance.message : '';
  const said = fresh.length ? fresh.map((f) => f.message).join('\n✗ ') : `(did not recur when replayed) ${failure}`;
  console.log(`\n✗ ${said}\n  minimal case (after ${result.numShrinks} shrinks):\n  ${request.replace(/\n/g, '\n  ')}\n  reproduce: ${reproduce}`);
  for (const key of encountered.keys()) known.add(key);
  if (args.path) break;
}

await target.close();

const unshrunk = [...encountered].filter(([key]) => !reported.has(key));
const covered = ops.filter((_, i) => perOperation.has(i)).length;
const seconds = ((Date.now() - started) / 1000).toFixed(0);
console.log(`\nfuzz: ${requests} requests over ${covered}/${ops.length} operations in ${seconds} s, seed ${seed}`);
if (unsendable) console.log(`${unsendable} generated request(s) Node's HTTP client would not send (headers it cannot encode)`);
console.log(`requests that fit the document: ${perVerdict.get('positive') ?? 0}, that break it: ${perVerdict.get('negative') ?? 0}, outside it: ${perVerdict.get('neither') ?? 0}`);
console.log(`statuses: ${[...perStatus].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ')}`);
if (stateRefusals.size) {
  console.log(`\nrefusals of requests that fit the document, by state rather than shape (Schemathesis would report them; not findings):`);
  for (const { message, count } of stateRefusals.values()) console.log(`  ${count}× ${message}`);
}
if (unshrunk.length) {
  console.log(`\nalso seen (not shrunk):`);
  for (const [, { finding, request }] of unshrunk) console.log(`✗ ${finding.message}\n  ${request.replace(/\n/g, '\n  ')}`);
}
const total = reported.size + unshrunk.length;
console.log(total ? `\nfuzz: ${total} finding(s); reproduce the run with: npm run fuzz -- --seed ${seed}` : `fuzz: no findings`);
process.exitCode = total ? 1 : 0;
