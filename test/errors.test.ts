import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AppError, ERROR_CODES, GRPC_STATUS, type ErrorCode } from '../src/domain/shared/errors.ts';
import { asAppError, statusesOf } from '../src/platform/errors/index.ts';
import { problemHeaders } from '../src/transports/rest/problem.ts';

const CODES = Object.keys(ERROR_CODES) as ErrorCode[];
const docText = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');

describe('the error registry on every protocol', () => {
  it('maps every code to an HTTP error status and a gRPC status that is an error', () => {
    assert.ok(CODES.length >= 40, 'the registry shrank');
    for (const code of CODES) {
      const s = statusesOf(code);
      assert.ok(s.http >= 400 && s.http <= 599, `${code}: HTTP ${s.http}`);
      assert.ok(Object.hasOwn(GRPC_STATUS, s.grpcName), `${code}: unknown gRPC status ${s.grpcName}`);
      assert.notEqual(s.grpc, GRPC_STATUS.OK, `${code} maps to gRPC OK`);
      assert.equal(s.graphql, code);
    }
  });

  it('keeps the two columns consistent: a client error is never INTERNAL/UNAVAILABLE and a 5xx never a client error', () => {
    const serverSide = new Set(['INTERNAL', 'UNAVAILABLE', 'UNKNOWN', 'DATA_LOSS', 'DEADLINE_EXCEEDED']);
    for (const code of CODES) {
      const { http, grpcName } = statusesOf(code);
      assert.equal(http >= 500, serverSide.has(grpcName), `${code}: HTTP ${http} vs gRPC ${grpcName}`);
      if (http === 401) assert.equal(grpcName, 'UNAUTHENTICATED', code);
      if (http === 404 && code === 'NOT_FOUND') assert.equal(grpcName, 'NOT_FOUND');
      if (http === 429) assert.equal(grpcName, 'RESOURCE_EXHAUSTED', code);
    }
  });

  it('documents both columns in docs/errors.md, in the table and in each section', () => {
    for (const code of CODES) {
      const { http, grpcName } = statusesOf(code);
      assert.match(docText, new RegExp(`^\\| \`${code}\` \\| ${http} \\| \`${grpcName}\` \\|$`, 'm'), `${code} row`);
      assert.match(docText, new RegExp(`^## ${code}\\n\\nHTTP status: ${http} · gRPC status: ${grpcName}$`, 'm'), `${code} section`);
    }
    const rows = [...docText.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    assert.deepEqual(rows, CODES, 'the table lists the registry, in order');
  });

  it('turns anything thrown into an AppError without leaking its message', () => {
    const own = new AppError('NOT_FOUND', 'gone');
    assert.equal(asAppError(own), own);
    const wrapped = asAppError(new Error('password=hunter2 at db.internal'));
    assert.equal(wrapped.code, 'INTERNAL_ERROR');
    assert.doesNotMatch(wrapped.message, /hunter2/);
  });
});

describe('neutral error fields rendered at the REST edge', () => {
  it('renders retryAfterSeconds as Retry-After in whole seconds', () => {
    assert.deepEqual(problemHeaders(new AppError('RATE_LIMITED', 'slow down', { retryAfterSeconds: 2.2 })), { 'retry-after': '3' });
    assert.deepEqual(problemHeaders(new AppError('NOT_FOUND')), {});
  });

  it('gives every 401 a Bearer challenge and renders the neutral challenge into it', () => {
    assert.equal(problemHeaders(new AppError('UNAUTHENTICATED'))['www-authenticate'], 'Bearer realm="stoa"');
    const h = problemHeaders(new AppError('INVALID_TOKEN', 'x', { authChallenge: { error: 'invalid_token', description: 'token "expired"' } }));
    assert.equal(h['www-authenticate'], 'Bearer realm="stoa", error="invalid_token", error_description="token expired"');
  });
});
