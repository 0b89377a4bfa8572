import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { uniqueEmail } from '../helpers/app.ts';
import { dig, isPlaceholder, PLACEHOLDER, type Case, type FixtureName, type CheckContext, type Expectation, type Matcher, type Placeholder, type Step, type UserName } from './case.ts';
import type { Driver, Outcome } from './drivers/index.ts';
import type { CaseScope, ContractWorld } from './world.ts';

interface Resolution {
  world: ContractWorld;
  scope: CaseScope;
  given: unknown[];
}

async function resolvePlaceholder(p: Placeholder, r: Resolution): Promise<unknown> {
  switch (p[PLACEHOLDER]) {
    case 'email':
      return (r.scope.email ??= uniqueEmail('contract'));
    case 'caseStart':
      assert.ok(r.scope.caseStart !== undefined, 'caseStart in a case without events.read');
      return r.scope.caseStart;
    case 'fresh':
      return r.world.fresh(p.name, r.scope);
    case 'output':
      assert.ok(p.step < r.given.length, `output(${p.step}) refers to a step not yet run`);
      return dig(r.given[p.step], p.path);
    case 'ref': {
      const [who, attribute] = p.name.split('.') as [string, 'id' | 'email' | undefined];
      const value = attribute ? (await r.world.user(who as UserName, r.scope))[attribute] : await r.world.shared(p.name as FixtureName);
      return p.map ? p.map(value) : value;
    }
  }
}

/** Resolves every placeholder in a value; leaves predicates alone. */
async function resolve(value: unknown, r: Resolution): Promise<unknown> {
  if (isPlaceholder(value)) return resolvePlaceholder(value, r);
  if (Array.isArray(value)) return Promise.all(value.map((v) => resolve(v, r)));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await resolve(v, r);
    return out;
  }
  return value;
}

/** Partial match: returns the path of the first mismatch, or null. */
function mismatch(actual: unknown, expected: unknown, ctx: CheckContext, path = 'data'): string | null {
  if (typeof expected === 'function') return (expected as (v: unknown, c: CheckContext) => boolean)(actual, ctx) ? null : `${path}: ${JSON.stringify(actual)} fails its check`;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${path}: expected an array, got ${JSON.stringify(actual)}`;
    if (actual.length !== expected.length) return `${path}: expected ${expected.length} items, got ${actual.length}`;
    for (let i = 0; i < expected.length; i++) {
      const m = mismatch(actual[i], expected[i], ctx, `${path}.${i}`);
      if (m) return m;
    }
    return null;
  }
  if (typeof expected === 'object' && expected !== null) {
    if (typeof actual !== 'object' || actual === null) return `${path}: expected an object, got ${JSON.stringify(actual)}`;
    for (const [k, v] of Object.entries(expected)) {
      const m = mismatch((actual as Record<string, unknown>)[k], v, ctx, `${path}.${k}`);
      if (m) return m;
    }
    return null;
  }
  return Object.is(actual, expected) ? null : `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}

async function check(outcome: Outcome, expectation: Expectation, ctx: CheckContext, r: Resolution, label: string): Promise<void> {
  const shown = JSON.stringify(outcome);
  if ('ok' in expectation) {
    assert.ok(outcome.ok, `${label}: expected success, got ${shown}`);
    if (expectation.ok === true) return;
    const m = mismatch(outcome.data, await resolve(expectation.ok as Matcher, r), ctx);
    assert.equal(m, null, `${label}: ${m}\n${shown}`);
    return;
  }
  assert.ok(!outcome.ok, `${label}: expected ${expectation.error}, got success ${shown}`);
  assert.equal(outcome.code, expectation.error, `${label}: ${shown}`);
  if (expectation.fields) {
    const key = (f: { field: string; code: string }) => `${f.field}:${f.code}`;
    assert.deepEqual([...new Set(outcome.fields.map(key))].sort(), expectation.fields.map(key).sort(), `${label}: field errors ${shown}`);
  }
  if (expectation.details) {
    const m = mismatch(outcome.details, await resolve(expectation.details, r), ctx, 'details');
    assert.equal(m, null, `${label}: ${m}`);
  }
}

async function callStep(driver: Driver, step: Step, r: Resolution): Promise<{ outcome: Outcome; input: Record<string, unknown> }> {
  const input = (await resolve(step.input ?? {}, r)) as Record<string, unknown>;
  const actor = await r.world.actor(step.actor, r.scope);
  let idempotencyKey: string | undefined;
  if (step.idempotencyKey !== undefined) {
    idempotencyKey = r.scope.idempotencyKeys.get(step.idempotencyKey);
    if (idempotencyKey === undefined) r.scope.idempotencyKeys.set(step.idempotencyKey, (idempotencyKey = randomUUID()));
  }
  return { outcome: await driver.call(actor, step.operation, input, { idempotencyKey }), input };
}

/** Runs one case over one driver: the given steps, the call, its expectation, then the follow-up checks. */
export async function runCase(driver: Driver, world: ContractWorld, c: Case): Promise<void> {
  const r: Resolution = { world, scope: { fresh: new Map(), idempotencyKeys: new Map() }, given: [] };
  if ([c, ...(c.given ?? []), ...(c.then ?? [])].some((s) => s.operation === 'events.read')) r.scope.caseStart = await world.eventHead();
  for (const [i, step] of (c.given ?? []).entries()) {
    const { outcome, input } = await callStep(driver, step, r);
    await check(outcome, step.expect ?? { ok: true }, { input, given: r.given }, r, `given[${i}] ${step.operation}`);
    r.given.push(outcome.ok ? outcome.data : outcome);
  }
  const { outcome, input } = await callStep(driver, c, r);
  await check(outcome, c.expect, { input, given: r.given }, r, c.operation);
  // `then` steps see the call's data as the step after the given ones.
  r.given.push(outcome.ok ? outcome.data : outcome);
  for (const [i, step] of (c.then ?? []).entries()) {
    const after = await callStep(driver, step, r);
    await check(after.outcome, step.expect, { input: after.input, given: r.given }, r, `then[${i}] ${step.operation}`);
  }
}
