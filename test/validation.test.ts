import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { ErrorObject } from 'ajv';
import type { TSchema } from 'typebox';
import { FIELD_ERROR_CODES, ROOT, type InputSpec } from '../src/domain/shared/validation.ts';
import { AppError } from '../src/domain/shared/errors.ts';
import type { Principal } from '../src/domain/shared/principal.ts';
import { PatchUserInput, SignUpInput, UsersService, type UsersServiceDeps } from '../src/domain/users/index.ts';
import { ApiKeyPatchInput, ApiKeysService, NewApiKeyInput, type ApiKeysServiceDeps } from '../src/domain/api-keys/index.ts';
import { NewChargeInput } from '../src/domain/charges/index.ts';
import { NewOrderInput, OrderStatusInput } from '../src/domain/orders/index.ts';
import { CommentInput, NewPostInput, PostsService, type PostsServiceDeps } from '../src/domain/posts/index.ts';
import { NewProductInput, ProductPatchInput, ProductsService, type ProductsServiceDeps } from '../src/domain/products/index.ts';
import { buildValidatorFactory, toFieldErrors } from '../src/transports/rest/plugins/validation.ts';

/** What REST's Ajv answers for `value` against the same schema. */
function restErrors(schema: TSchema, value: unknown) {
  const validate = buildValidatorFactory()({})({ schema, httpPart: 'body' }) as ((v: unknown) => boolean) & { errors?: ErrorObject[] | null };
  return validate(structuredClone(value)) ? [] : toFieldErrors(validate.errors ?? [], ROOT);
}

/** Bad inputs per use case: the domain and REST must answer the same field errors. */
const CASES: Array<{ name: string; input: InputSpec<TSchema>; value: unknown }> = [
  { name: 'sign-up, every field wrong', input: SignUpInput, value: { email: 'not-an-email', display_name: '', password: 'short' } },
  { name: 'sign-up, missing and unknown fields', input: SignUpInput, value: { email: 'ada@example.com', nickname: 'ada' } },
  { name: 'sign-up, wrong types', input: SignUpInput, value: { email: 3, display_name: ['Ada'], password: null } },
  { name: 'user patch, too long and not allowed', input: PatchUserInput, value: { display_name: 'x'.repeat(101), role: 'owner' } },
  { name: 'user patch, empty', input: PatchUserInput, value: {} },
  { name: 'post, too long', input: NewPostInput, value: { title: 't'.repeat(201), content: 'c' } },
  { name: 'comment, empty', input: CommentInput, value: { content: '' } },
  { name: 'product, bounds and formats', input: NewProductInput, value: { name: 'x'.repeat(201), category: '', price: -1, currency: 'eur', stock: 1.5 } },
  { name: 'product patch, wrong types', input: ProductPatchInput, value: { price: '10', description: null } },
  { name: 'order, no items', input: NewOrderInput, value: { items: [] } },
  { name: 'order, bad items', input: NewOrderInput, value: { items: [{ product_id: 7, quantity: 0 }, { quantity: 1001, extra: true }] } },
  { name: 'order status, unknown', input: OrderStatusInput, value: { status: 'lost' } },
  { name: 'charge, every field wrong', input: NewChargeInput, value: { amount: 0, currency: 'EURO', source: '', order_id: '', description: 'd'.repeat(501) } },
  { name: 'API key, scopes', input: NewApiKeyInput, value: { name: 'k', scopes: ['posts:read', 'posts:read', 'root'], expires_at: 'tomorrow', api_version: '3' } },
  { name: 'API key patch, bad version', input: ApiKeyPatchInput, value: { api_version: 2 } },
];

describe('field validation', () => {
  describe('the field error vocabulary', () => {
    const docText = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    const preamble = docText.slice(docText.indexOf('Field error codes are one vocabulary'), docText.indexOf('\n## '));
    const documented = [...preamble.matchAll(/^- `([a-z_]+)`:/gm)].map((m) => m[1]!);

    it('docs/errors.md lists exactly FIELD_ERROR_CODES, each once', () => {
      assert.deepEqual([...documented].sort(), [...FIELD_ERROR_CODES].sort());
      assert.equal(new Set(documented).size, documented.length, 'a field code is documented twice');
    });

    it('uses lower snake_case codes', () => {
      for (const code of FIELD_ERROR_CODES) assert.match(code, /^[a-z]+(_[a-z]+)*$/);
    });
  });

  describe('a domain input and the REST schema validation', () => {
    for (const { name, input, value } of CASES) {
      it(`answer the same field errors: ${name}`, () => {
        const domain = input.errors(value);
        assert.ok(domain.length > 0, 'the input should be invalid');
        assert.deepEqual(domain, restErrors(input.schema, value));
        for (const error of domain) assert.ok((FIELD_ERROR_CODES as readonly string[]).includes(error.code), error.code);
      });
    }

    it('names nested fields by their canonical dotted path', () => {
      assert.deepEqual(
        SignUpInput.errors({ email: 'ada@example.com', display_name: 'Ada', password: 'correct horse', extra: 1 }).map((e) => [e.field, e.code]),
        [['extra', 'unknown_field']],
      );
      assert.deepEqual(
        NewOrderInput.errors({ items: [{ product_id: 'prd_1', quantity: 1 }, { product_id: 'prd_2', quantity: 0 }] }).map((e) => [e.field, e.code]),
        [['items.1.quantity', 'out_of_range']],
      );
    });
  });

  describe('the domain services, without a transport', () => {
    const actor: Principal = { userId: 'usr_01jd3k9x7m2v8q4r6t0w5y1zab', role: 'user', plan: 'free', via: 'session', apiKeyId: null, scopes: null, apiVersion: null };
    // Validation comes before any storage is touched, so the services need no dependencies here.
    const users = new UsersService({} as UsersServiceDeps);
    const posts = new PostsService({} as PostsServiceDeps);

    async function fieldErrors(work: () => Promise<unknown>) {
      try {
        await work();
      } catch (error) {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, 'VALIDATION_FAILED');
        return error.errors!.map((e) => [e.field, e.code]);
      }
      assert.fail('expected a validation error');
    }

    it('answers the vocabulary with canonical paths: a sign-up', async () => {
      assert.deepEqual(await fieldErrors(() => users.register({ email: 'nope', display_name: 'x'.repeat(101), password: 'short' })), [
        ['email', 'invalid_format'],
        ['display_name', 'too_long'],
        ['password', 'too_short'],
      ]);
    });

    it('refuses blank text with too_short, like empty text', async () => {
      assert.deepEqual(await fieldErrors(() => users.register({ email: 'ada@example.com', display_name: '   ', password: 'correct horse' })), [['display_name', 'too_short']]);
      assert.deepEqual(await fieldErrors(() => posts.create(actor, { title: ' ', content: '' })), [
        ['content', 'too_short'],
        ['title', 'too_short'],
      ]);
    });

    it('adds the rules a schema cannot state, in the same vocabulary', async () => {
      const keys = new ApiKeysService({ clock: { now: () => new Date('2026-11-30T12:00:00Z') } } as ApiKeysServiceDeps);
      assert.deepEqual(await fieldErrors(() => keys.createForUser(actor.userId, { name: '  ', scopes: ['posts:read'], expires_at: '2026-11-01T00:00:00Z' })), [
        ['name', 'too_short'],
        ['expires_at', 'in_past'],
      ]);
      const products = new ProductsService({} as ProductsServiceDeps);
      const admin: Principal = { ...actor, role: 'admin' };
      assert.deepEqual(await fieldErrors(() => products.create(admin, { name: 'Mug', category: 'a,b', price: 100, currency: 'XQQ' })), [
        ['category', 'invalid_format'],
        ['currency', 'invalid_value'],
      ]);
    });
  });
});
