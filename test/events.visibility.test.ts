import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { canSee, EVENT_FAMILY_SCOPES, EVENT_TYPES, EVERYONE, matchesTypes, visibilityFilter, type EventLog, type StoredEvent } from '../src/domain/events/index.ts';
import type { Principal, Scope } from '../src/domain/shared/principal.ts';
import { createEventLog } from '../src/infra/db/repositories/events.repository.ts';
import { createTestApp, type TestApp } from './helpers/app.ts';

const ADA = 'usr_visibility_ada';
const BOB = 'usr_visibility_bob';
const ADMIN = 'usr_visibility_admin';

function principal(userId: string, role: 'user' | 'admin', scopes: readonly Scope[] | null): Principal {
  return { userId, role, plan: 'free', via: scopes ? 'api_key' : 'session', apiKeyId: scopes ? 'key_x' : null, scopes: scopes ? new Set(scopes) : null, apiVersion: null };
}

const PRINCIPALS: Array<[string, Principal]> = [
  ['ada (session)', principal(ADA, 'user', null)],
  ['bob (session)', principal(BOB, 'user', null)],
  ['admin (session)', principal(ADMIN, 'admin', null)],
  ['ada key posts:read', principal(ADA, 'user', ['posts:read'])],
  ['ada key orders:read', principal(ADA, 'user', ['orders:read'])],
  ['ada key users:read charges:read', principal(ADA, 'user', ['users:read', 'charges:read'])],
  ['ada key no read scope', principal(ADA, 'user', ['posts:write'])],
  ['ada key every scope', principal(ADA, 'user', ['users:read', 'posts:read', 'orders:read', 'charges:read', 'webhooks:read'])],
  ['admin key orders:read', principal(ADMIN, 'admin', ['orders:read'])],
  ['admin key posts:read users:read', principal(ADMIN, 'admin', ['posts:read', 'users:read'])],
];

const AUDIENCES: string[][] = [[ADA], [BOB], [EVERYONE], [ADA, BOB], [ADMIN], [BOB, EVERYONE]];

describe('event visibility: the SQL filter and the predicate agree', () => {
  let t: TestApp;
  let log: EventLog;
  let events: StoredEvent[];
  before(async () => {
    t = await createTestApp();
    log = createEventLog(() => t.container.database.db);
    const start = await log.head();
    // Every event type (and a future family with no scope) with every kind of audience.
    const types = [...EVENT_TYPES, 'job.completed', 'webhook.disabled'] as const;
    for (const type of types) {
      for (const audience of AUDIENCES) {
        await log.append({ type: type as (typeof EVENT_TYPES)[number], resourceType: type.split('.')[0]!, resourceId: 'res_1', data: { n: 1 }, audience }, new Date());
      }
    }
    events = await log.after(start, 10_000);
    assert.equal(events.length, types.length * AUDIENCES.length);
  });
  after(() => t.close());

  it('covers every family of the type → scope map', () => {
    for (const type of EVENT_TYPES) assert.ok(type.split('.')[0]! in EVENT_FAMILY_SCOPES, type);
  });

  for (const [name, actor] of PRINCIPALS) {
    it(`${name}: every event type, with and without type filters`, async () => {
      const start = events[0]!.sequence - 1;
      for (const types of [undefined, ['order.*'], ['post.created', 'comment.*'], ['user.verification_requested'], ['*'], ['job.*', 'charge.failed']]) {
        const sql = (await log.after(start, 10_000, visibilityFilter(actor, types))).map((e) => e.sequence);
        const predicate = events.filter((e) => canSee(actor, e) && matchesTypes(types, e.type)).map((e) => e.sequence);
        assert.deepEqual(sql, predicate, `${name} types=${types?.join(',') ?? '(all)'}`);
      }
    });
  }

  it('is not vacuous: each principal sees some events and misses others', () => {
    for (const [name, actor] of PRINCIPALS.filter(([n]) => !n.includes('no read scope'))) {
      const seen = events.filter((e) => canSee(actor, e)).length;
      assert.ok(seen > 0 && seen < events.length, `${name} sees ${seen} of ${events.length}`);
    }
    const confidential = events.filter((e) => e.type === 'user.verification_requested');
    const admin = PRINCIPALS.find(([n]) => n === 'admin (session)')![1];
    assert.deepEqual(confidential.filter((e) => canSee(admin, e)).map((e) => e.audience), [[ADMIN]], 'an admin reads only its own confidential events');
    const postsOnly = PRINCIPALS.find(([n]) => n === 'ada key posts:read')![1];
    assert.ok(events.filter((e) => canSee(postsOnly, e)).every((e) => /^(post|comment|product|job|webhook)\./.test(e.type)));
  });
});
