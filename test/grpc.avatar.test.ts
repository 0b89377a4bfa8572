import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import { failureOf, grpcOf, type GrpcClient } from './helpers/grpc.ts';
import { world, type World } from './helpers/world.ts';
import { UserService, type UploadAvatarResponse } from '../src/transports/grpc/gen/stoa/v1/users_pb.ts';

const PNG_HEAD = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG_HEAD = Buffer.from([0xff, 0xd8, 0xff, 0xe0]);
const KB = 1024;

/** Uploads `chunks` one write at a time (each waits for its flush); resolves with the answer or the status, and how many chunks went out. */
function upload(client: GrpcClient, auth: Record<string, string>, chunks: Buffer[]): Promise<{ answer?: UploadAvatarResponse; error?: ServiceError; written: number }> {
  return new Promise((resolve) => {
    let written = 0;
    let settled = false;
    const call = client.clientStream(UserService.method.uploadAvatar, auth, (error, answer) => {
      settled = true;
      resolve(error ? { error, written } : { answer: answer!, written });
    });
    call.on('error', () => {});
    const next = (i: number) => {
      if (settled) return;
      if (i === chunks.length) return void call.end();
      call.write({ chunk: chunks[i]! }, () => {
        written = i + 1;
        next(i + 1);
      });
    };
    next(0);
  });
}

describe('gRPC UploadAvatar and GET /v1/users/{id}/avatar', () => {
  let w: World;
  let g: Awaited<ReturnType<typeof grpcOf>>;
  before(async () => {
    w = await world();
    g = await grpcOf(w.t);
  });
  after(async () => {
    await g?.close();
    await w?.close();
  });

  it('stores a PNG sent in chunks; REST serves it with its type, an ETag of its bytes and 304 on If-None-Match', async () => {
    const image = Buffer.concat([PNG_HEAD, randomBytes(150 * KB)]);
    const chunks = [image.subarray(0, 3), image.subarray(3, 64 * KB), image.subarray(64 * KB, 128 * KB), image.subarray(128 * KB)];
    const { answer, error } = await upload(g.client, w.ada.auth, chunks);
    assert.equal(error, undefined);
    assert.deepEqual([answer!.userId, answer!.contentType, answer!.sizeBytes], [w.ada.id, 'image/png', BigInt(image.length)]);
    const res = await w.app.inject({ method: 'GET', url: `/v1/users/${w.ada.id}/avatar`, headers: w.bob.auth });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'image/png');
    assert.equal(res.headers.etag, answer!.etag);
    assert.ok(res.rawPayload.equals(image), 'the same bytes');
    const again = await w.app.inject({ method: 'GET', url: `/v1/users/${w.ada.id}/avatar`, headers: { ...w.bob.auth, 'if-none-match': answer!.etag } });
    assert.equal(again.statusCode, 304);
  });

  it('takes a JPEG, which replaces the earlier avatar and its ETag', async () => {
    const image = Buffer.concat([JPEG_HEAD, randomBytes(10 * KB)]);
    const { answer } = await upload(g.client, w.ada.auth, [image]);
    assert.equal(answer?.contentType, 'image/jpeg');
    const res = await w.app.inject({ method: 'GET', url: `/v2/users/${w.ada.id}/avatar`, headers: w.ada.auth });
    assert.equal(res.headers['content-type'], 'image/jpeg');
    assert.equal(res.headers.etag, answer!.etag);
  });

  it('refuses what is not a PNG or JPEG by its first bytes, and an empty upload (INVALID_ARGUMENT)', async () => {
    for (const first of [Buffer.from('GIF89a........'), Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), Buffer.from([0x89, 0x50, 0x4e, 0x00])]) {
      const { error } = await upload(g.client, w.bob.auth, [first, randomBytes(KB)]);
      const f = failureOf(error);
      assert.equal(f.code, status.INVALID_ARGUMENT);
      assert.equal(f.errorInfo?.reason, 'UNSUPPORTED_MEDIA_TYPE');
      assert.deepEqual(f.badRequest?.fieldViolations.map((v) => [v.field, v.reason]), [['chunk', 'invalid_format']]);
    }
    const empty = failureOf((await upload(g.client, w.bob.auth, [])).error);
    assert.equal(empty.code, status.INVALID_ARGUMENT);
    assert.equal((await w.app.inject({ method: 'GET', url: `/v1/users/${w.bob.id}/avatar`, headers: w.bob.auth })).statusCode, 404);
  });

  it('refuses a chunk over 64 KiB (RESOURCE_EXHAUSTED)', async () => {
    const { error } = await upload(g.client, w.bob.auth, [Buffer.concat([PNG_HEAD, randomBytes(64 * KB)])]);
    const f = failureOf(error);
    assert.equal(f.code, status.RESOURCE_EXHAUSTED);
    assert.equal(f.errorInfo?.reason, 'PAYLOAD_TOO_LARGE');
  });

  it('refuses an upload over 2 MiB as soon as it passes the cap, before the client has sent it all', async () => {
    const chunks = [Buffer.concat([PNG_HEAD, randomBytes(64 * KB - PNG_HEAD.length)]), ...Array.from({ length: 95 }, () => randomBytes(64 * KB))];
    const { error, written } = await upload(g.client, w.bob.auth, chunks);
    const f = failureOf(error);
    assert.equal(f.code, status.RESOURCE_EXHAUSTED);
    assert.equal(f.errorInfo?.reason, 'PAYLOAD_TOO_LARGE');
    assert.ok(written < 80, `the refusal came after ${written} of 96 chunks (6 MiB); the cap is passed at chunk 33`);
    assert.equal((await w.app.inject({ method: 'GET', url: `/v1/users/${w.bob.id}/avatar`, headers: w.bob.auth })).statusCode, 404);
  });

  it('needs users:write (PERMISSION_DENIED before any byte is read) and a caller (UNAUTHENTICATED)', async () => {
    const key = await w.apiKey(w.bob, ['users:read']);
    const f = failureOf((await upload(g.client, key, [Buffer.concat([PNG_HEAD, randomBytes(KB)])])).error);
    assert.equal(f.code, status.PERMISSION_DENIED);
    assert.equal(f.errorInfo?.reason, 'INSUFFICIENT_SCOPE');
    assert.equal(failureOf((await upload(g.client, {}, [PNG_HEAD])).error).code, status.UNAUTHENTICATED);
  });

  it('GET /v1/users/{id}/avatar needs a caller and is documented in OpenAPI as an image', async () => {
    assert.equal((await w.app.inject({ method: 'GET', url: `/v1/users/${w.ada.id}/avatar` })).statusCode, 401);
    assert.equal((await w.app.inject({ method: 'GET', url: `/v1/users/usr_nobody/avatar`, headers: w.ada.auth })).statusCode, 404);
    const doc = (await w.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json() as { paths: Record<string, { get?: { responses: Record<string, { content?: Record<string, unknown> }> } }> };
    const op = doc.paths['/v1/users/{id}/avatar']?.get;
    assert.ok(op, Object.keys(doc.paths).filter((p) => p.includes('users')).join(', '));
    assert.deepEqual(Object.keys(op.responses['200']!.content!).sort(), ['image/jpeg', 'image/png']);
  });
});
