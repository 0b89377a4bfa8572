import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ERROR_CODES } from '../src/domain/shared/errors.ts';
import { FIELD_ERROR_CODES } from '../src/domain/shared/validation.ts';
import { matching, type Case, type Expectation } from './contract/case.ts';
import { TABLES } from './contract/cases/index.ts';
import { DRIVERS, type Driver, type Outcome } from './contract/drivers/index.ts';
import { runCase } from './contract/run.ts';
import { contractWorld, type ContractWorld } from './contract/world.ts';

describe('the contract tables', () => {
  const expectations = TABLES.flatMap((t) => t.cases.flatMap((c) => [c.expect, ...(c.given ?? []).flatMap((g) => (g.expect ? [g.expect] : [])), ...(c.then ?? []).map((s) => s.expect)]));
  const errors = expectations.filter((e): e is Extract<Expectation, { error: string }> => 'error' in e);

  it('name only registered error codes', () => {
    for (const e of errors) assert.ok(e.error in ERROR_CODES, e.error);
  });

  it('name only field codes of the shared vocabulary, on snake_case paths', () => {
    for (const f of errors.flatMap((e) => e.fields ?? [])) {
      assert.ok((FIELD_ERROR_CODES as readonly string[]).includes(f.code), f.code);
      assert.match(f.field, /^[a-z][a-z0-9_]*(\.([a-z][a-z0-9_]*|\d+))*$/, f.field);
    }
  });

  it('give every case of a table its own name', () => {
    for (const table of TABLES) {
      const names = table.cases.map((c) => `${c.actor} ${c.operation}: ${c.name}`);
      assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), [], table.area);
    }
  });
});

describe('the contract runner', () => {
  // A driver that answers `outcome` to every call, in a world with nobody in it: the runner must catch each mismatch.
  const answering = (outcome: Outcome): Driver => ({ name: 'stub', setup: async () => {}, call: async () => outcome });
  const nobody = { actor: async () => ({ name: 'anonymous', credential: null }) } as unknown as ContractWorld;
  const run = (outcome: Outcome, expect: Expectation) => runCase(answering(outcome), nobody, { name: 'x', actor: 'anonymous', operation: 'users.get', expect } satisfies Case);
  const refused: Outcome = { ok: false, code: 'VALIDATION_FAILED', fields: [{ field: 'email', code: 'invalid_format' }], details: { current_status: 'pending' } };

  it('passes matching outcomes', async () => {
    await run({ ok: true, data: { id: 'usr_1', name: 'Ada', extra: 1 } }, { ok: { id: matching(/^usr_/), name: 'Ada' } });
    await run(refused, { error: 'VALIDATION_FAILED', fields: [{ field: 'email', code: 'invalid_format' }], details: { current_status: 'pending' } });
  });

  it('fails every mismatch', async () => {
    const mismatches: Array<[Outcome, Expectation]> = [
      [{ ok: true, data: { id: 'usr_1' } }, { ok: { id: 'usr_2' } }],
      [{ ok: true, data: { id: 'pst_1' } }, { ok: { id: matching(/^usr_/) } }],
      [{ ok: true, data: [{ id: 'a' }, { id: 'b' }] }, { ok: [{ id: 'a' }] }],
      [{ ok: true, data: null }, { ok: { id: 'a' } }],
      [{ ok: true, data: {} }, { error: 'NOT_FOUND' }],
      [refused, { ok: true }],
      [refused, { error: 'NOT_FOUND' }],
      [refused, { error: 'VALIDATION_FAILED', fields: [] }],
      [refused, { error: 'VALIDATION_FAILED', fields: [{ field: 'email', code: 'invalid_value' }] }],
      [refused, { error: 'VALIDATION_FAILED', fields: [{ field: 'email', code: 'invalid_format' }, { field: 'name', code: 'required' }] }],
      [refused, { error: 'VALIDATION_FAILED', details: { current_status: 'cancelled' } }],
    ];
    for (const [outcome, expect] of mismatches) await assert.rejects(run(outcome, expect), assert.AssertionError, JSON.stringify({ outcome, expect }));
  });
});

for (const driver of DRIVERS) {
  describe(`the contract over ${driver.name}`, () => {
    let world: ContractWorld;
    before(async () => {
      world = await contractWorld();
      await driver.setup(world);
    });
    after(() => world.close());

    for (const table of TABLES) {
      describe(table.area, () => {
        for (const c of table.cases) {
          it(`${c.actor} ${c.operation}: ${c.name}`, { skip: driver.skip?.(c) ?? false }, () => runCase(driver, world, c));
        }
      });
    }
  });
}
