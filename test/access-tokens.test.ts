import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JWK } from 'jose';
import { AppError } from '../src/domain/shared/errors.ts';
import { ACCESS_TOKEN_CLOCK_SKEW_SECONDS, createAccessTokens, generateSigningKey, type SigningKeySource } from '../src/platform/auth/index.ts';
import { TestClock } from './helpers/app.ts';

const TTL = 900;

async function rejects(promise: Promise<unknown>, detail: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof AppError && error.code === 'INVALID_TOKEN' && detail.test(error.message));
}

/** A key source whose set the test replaces, as a rotation or withdrawal in the database would. */
function mutableSource(keys: JWK[]): SigningKeySource & { set(next: JWK[]): void } {
  let current: readonly JWK[] = keys;
  return { current: () => current, refresh: async () => {}, set: (next) => void (current = next) };
}

// Verified tokens are remembered by their text (see access-tokens.ts); these are the answers that must not change.
describe('access tokens verified before', () => {
  it('still expire: a token verified once is refused after its expiry plus the clock skew', async () => {
    const clock = new TestClock();
    const tokens = await createAccessTokens({ keys: [await generateSigningKey()], issuer: 'https://stoa.test', audience: 'stoa-api', ttlSeconds: TTL, clock });
    const token = await tokens.sign('usr_1');
    assert.equal(await tokens.verify(token), 'usr_1');
    clock.advance((TTL + ACCESS_TOKEN_CLOCK_SKEW_SECONDS - 2) * 1000);
    assert.equal(await tokens.verify(token), 'usr_1');
    clock.advance(3_000);
    await rejects(tokens.verify(token), /expired/);
  });

  it('are refused once the key that signed them is withdrawn from the set', async () => {
    const first = await generateSigningKey();
    const second = await generateSigningKey();
    const source = mutableSource([first, second]);
    const tokens = await createAccessTokens({ keys: source, issuer: 'https://stoa.test', audience: 'stoa-api', ttlSeconds: TTL, clock: new TestClock() });
    const token = await tokens.sign('usr_1');
    assert.equal(await tokens.verify(token), 'usr_1');
    source.set([second]);
    await rejects(tokens.verify(token), /invalid/);
  });

  it('a tampered copy of a verified token is not taken for it', async () => {
    const tokens = await createAccessTokens({ keys: [await generateSigningKey()], issuer: 'https://stoa.test', audience: 'stoa-api', ttlSeconds: TTL, clock: new TestClock() });
    const token = await tokens.sign('usr_1');
    assert.equal(await tokens.verify(token), 'usr_1');
    const [header, , signature] = token.split('.');
    const forged = `${header}.${Buffer.from(JSON.stringify({ sub: 'usr_admin', iat: 1, exp: 4_000_000_000, iss: 'https://stoa.test', aud: 'stoa-api' })).toString('base64url')}.${signature}`;
    await rejects(tokens.verify(forged), /invalid/);
    assert.equal(await tokens.verify(token), 'usr_1');
  });

});
