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
import { judge, type Finding } from './oracle.ts';
import { ACTOR_OWNER, Target, type Owner } from './target.ts';

const { values: args } = parseArgs({
  options: { seed: { type: 'string' }, minutes: { type: 'string' }, path: { type: 'string' } },
});
const seed = args.seed === undefined ? (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 1 : Number(args.seed);
const minutes = Number(args.minutes ?? 2);
if (!Number.isInteger(seed) || !(minutes > 0)) throw new Error('usage: npm run fuzz -- [--seed <integer>] [--minutes <number>] [--path <fast-check path>]');

const started = Date.now();
console.log(`fuzz: seed ${seed}, ${minutes} minute(s), ${process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded database'}${process.env.REDIS_URL ? ' + Redis' : ''}`);

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
/** First sighting of each defect, and the ones already shown shrunk. */
const encountered = new Map<string, { finding: Finding; request: string }>();
const reported = new Map<string, { finding: Finding; request: string; reproduce: string }>();

const WRITE_SHAPES = /\/(cancel|rotate-secret|retry|logout|verify-email)$/;

/** Sends one case and judges the answer; heals the fixtures when a write went through. */
async function execute(c: Case): Promise<{ findings: Finding[]; request: string }> {
  const { truth, op } = ops[c.op]!;
  const { options, pathOwner } = await build(c, ops, target);
  const writes = op.method !== 'GET';
  const before = writes ? await target.digest() : undefined;
  const res = await target.send(options);
  if (!res) {
    unsendable += 1;
    return { findings: [], request: describe(options) };
  }
  const after = writes && res.statusCode >= 400 && res.statusCode < 500 ? await target.digest() : undefined;
  requests += 1;
  perOperation.set(c.op, (perOperation.get(c.op) ?? 0) + 1);
  perStatus.set(res.statusCode, (perStatus.get(res.statusCode) ?? 0) + 1);
  const findings = judge({
    truth,
    op,
    actor: c.actor,
    pathOwner,
    method: options.method,
    url: options.url,
    status: res.statusCode,
    contentType: res.headers['content-type'] as string | undefined,
    body: res.body,
    privateIds: { a: target.privateIds('a'), b: target.privateIds('b') },
    ...(before ? { before } : {}),
    ...(after ? { after } : {}),
  });
  if (writes && res.statusCode < 300 && (op.method !== 'POST' || WRITE_SHAPES.test(op.path) || op.path.includes('/users'))) {
    const owners = new Set<Owner>([pathOwner ?? ACTOR_OWNER[c.actor] ?? 'a']);
    if (op.path.includes('/users')) owners.add(ACTOR_OWNER[c.actor] ?? 'a');
    await target.heal([...owners]);
  }
  const request = describe(options);
  for (const f of findings) if (!encountered.has(f.key)) encountered.set(f.key, { finding: f, request: `${request}\n  → ${res.statusCode} ${String(res.headers['content-type'] ?? '')} ${res.body.slice(0, 300)}` });
  return { findings, request: `${request}\n  → ${res.statusCode} ${String(res.headers['content-type'] ?? '')} ${res.body.slice(0, 300)}` };
}

/** Defects seen in earlier rounds: a round fails only on one not seen before. */
const known = new Set<string>();
const property = fc.asyncProperty(arbitrary, async (c) => (await execute(c)).findings.every((f) => known.has(f.key)));

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
console.log(`statuses: ${[...perStatus].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ')}`);
if (unshrunk.length) {
  console.log(`\nalso seen (not shrunk):`);
  for (const [, { finding, request }] of unshrunk) console.log(`✗ ${finding.message}\n  ${request.replace(/\n/g, '\n  ')}`);
}
const total = reported.size + unshrunk.length;
console.log(total ? `\nfuzz: ${total} finding(s); reproduce the run with: npm run fuzz -- --seed ${seed}` : `fuzz: no findings`);
process.exitCode = total ? 1 : 0;
