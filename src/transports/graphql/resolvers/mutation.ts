import { CREATE_CHARGE, NewChargeInput, type NewCharge } from '../../../domain/charges/index.ts';
import type { NewApiKey } from '../../../domain/api-keys/index.ts';
import { NewOrderInput, PLACE_ORDER, type NewOrder } from '../../../domain/orders/index.ts';
import type { NewPost, PostPatch } from '../../../domain/posts/index.ts';
import type { NewProduct } from '../../../domain/products/index.ts';
import { AppError, validationError } from '../../../domain/shared/errors.ts';
import type { Operation } from '../../../domain/shared/operation.ts';
import type { InputSpec } from '../../../domain/shared/validation.ts';
import type { SignUp, UserUpdate } from '../../../domain/users/index.ts';
import type { NewWebhookEndpoint, RotateWebhookSecret, WebhookEndpointPatch } from '../../../domain/webhooks/index.ts';
import { asAppError } from '../../../platform/errors/index.ts';
import { keyError, operationFingerprint, runIdempotent, type IdempotentRenderer, type Json, type RecordedOutcome } from '../../../platform/idempotency/index.ts';
// The neutral outcome under a key is the resource as REST v2 shows it (the domain presenter plus links), which every
// transport reads back: REST replays it as its own answer, GraphQL applies the selection to it.
import { presentCharge, presentOrder } from '../../../platform/representations/index.ts';
import { actorOf, type GraphqlContext } from '../context.ts';
import { renamingFields } from '../errors.ts';
import { camelKeys, canonicalInput } from '../naming.ts';
import type { Resolvers } from './support.ts';

type Ctx = GraphqlContext;
type Id = { id: string };
type Input = { input: Record<string, unknown> };

/** The mutation's input as the domain takes it (canonical snake_case), typed as the service's input. */
function inputOf<T>(args: Input): T {
  return canonicalInput(args.input) as T;
}

type Refusal = Extract<RecordedOutcome, { ok: false }>['error'] & { extensions?: Record<string, unknown> };

/** An error recorded under a key, thrown again as the AppError it was (with its details when GraphQL recorded it). */
function refusalOf(error: Refusal): AppError {
  return new AppError(error.code, error.message, { ...(error.errors && { errors: error.errors }), ...(error.extensions && { extensions: error.extensions }) });
}

/**
 * GraphQL's side of `runIdempotent`: the neutral outcome is the resource as
 * its domain presenter shows it (what every transport reads back), and that
 * is also what GraphQL stores and replays — the selection is applied to it
 * afresh on every answer.
 */
function renderer<T>(present: (value: T) => unknown): IdempotentRenderer<T, Json> {
  return {
    transport: 'graphql',
    settle(outcome) {
      if (outcome.ok) {
        const value = JSON.parse(JSON.stringify(present(outcome.value))) as Json;
        return { outcome: { ok: true, value }, rendering: value };
      }
      const error = asAppError(outcome.error);
      const recorded = { code: error.code, message: error.message, ...(error.errors && { errors: error.errors }) };
      // GraphQL's own rendering keeps the details (required_scope, current_status) for its replays.
      return { outcome: { ok: false, error: recorded }, rendering: { error: { ...recorded, ...(error.extensions && { extensions: error.extensions }) } } as unknown as Json };
    },
    replay(outcome) {
      return outcome.ok ? outcome.value : ({ error: outcome.error } as unknown as Json);
    },
  };
}

/**
 * A keyed mutation (createOrder, createCharge): the key from the
 * `idempotencyKey` argument or the Idempotency-Key header, the operation's
 * canonical input, the same core (and records) as REST — so the same key and
 * input sent earlier over REST answers the same resource.
 */
async function idempotent<T>(
  context: Ctx,
  operation: Operation,
  declaration: InputSpec<never>,
  argumentKey: string | null | undefined,
  input: unknown,
  present: (value: T) => unknown,
  work: () => Promise<T>,
): Promise<unknown> {
  const actor = actorOf(context);
  // As on REST, an input its declaration refuses never touches the key (REST's Ajv checks the same schema before the handler).
  const invalidInput = declaration.errors(input);
  if (invalidInput.length > 0) throw validationError(invalidInput);
  const header = context.idempotencyKeyHeader;
  const given = argumentKey ?? undefined;
  if (given !== undefined && header !== undefined && given !== header) {
    throw new AppError('IDEMPOTENCY_KEY_INVALID', 'The idempotencyKey argument and the Idempotency-Key header differ; send one of them', {
      errors: [{ field: 'idempotency_key', code: 'invalid_value', message: 'differs from the Idempotency-Key header' }],
    });
  }
  const key = given ?? header;
  const invalid = keyError(operation, key, { call: `mutation ${operation.name === PLACE_ORDER.name ? 'createOrder' : 'createCharge'}`, field: 'idempotency_key', noun: 'idempotencyKey argument (or Idempotency-Key header)' });
  if (invalid) throw invalid;
  const claim = { principal: actor.userId, key: key!, operation: operation.name, fingerprint: operationFingerprint(operation.name, input) };
  let thrown: unknown;
  const run = () =>
    work().catch((error: unknown) => {
      thrown = error;
      throw error;
    });
  const result = await runIdempotent(context.deps.idempotency, claim, run, renderer(present));
  if (result.kind === 'done') return result.value;
  if (result.kind === 'refused') {
    // This call's own refusal: the error as the service threw it.
    if (thrown !== undefined) throw thrown;
    if (result.outcome.ok) throw new AppError('INTERNAL_ERROR');
    throw refusalOf(result.outcome.error);
  }
  // Replayed: this transport's rendering or another's outcome, both the presented resource (or its refusal).
  const rendering = result.rendering as { error?: Refusal } | Json;
  if (rendering !== null && typeof rendering === 'object' && !Array.isArray(rendering) && 'error' in rendering && rendering.error && typeof rendering.error === 'object' && 'code' in rendering.error) {
    throw refusalOf(rendering.error as Refusal);
  }
  return camelKeys(rendering);
}

/** Mutations: each calls the service REST calls, with the same input; the domain checks and answers. */
export const mutationResolvers: Resolvers = {
  Mutation: {
    signUp: (_root: unknown, args: Input, context: Ctx) => context.deps.users.register(inputOf<SignUp>(args)),
    updateUser: (_root: unknown, args: Id & Input, context: Ctx) => context.deps.users.update(actorOf(context), args.id, inputOf<UserUpdate>(args)),
    createPost: (_root: unknown, args: Input, context: Ctx) => context.deps.posts.create(actorOf(context), inputOf<NewPost>(args)),
    updatePost: (_root: unknown, args: Id & Input, context: Ctx) => context.deps.posts.update(actorOf(context), args.id, inputOf<PostPatch>(args)),
    deletePost: async (_root: unknown, { id }: Id, context: Ctx) => {
      await context.deps.posts.delete(actorOf(context), id);
      return { deletedId: id };
    },
    createComment: (_root: unknown, args: Input, context: Ctx) => {
      const { post_id, content } = inputOf<{ post_id: string; content: string }>(args);
      return context.deps.posts.addComment(actorOf(context), post_id, content);
    },
    updateComment: (_root: unknown, args: Id & Input, context: Ctx) => context.deps.posts.updateComment(actorOf(context), args.id, inputOf<{ content: string }>(args).content),
    deleteComment: async (_root: unknown, { id }: Id, context: Ctx) => {
      await context.deps.posts.deleteComment(actorOf(context), id);
      return { deletedId: id };
    },
    follow: (_root: unknown, { userId }: { userId: string }, context: Ctx) =>
      renamingFields({ id: 'userId' }, async () => {
        const actor = actorOf(context);
        await context.deps.follows.follow(actor, userId);
        return { user: await context.deps.users.get(actor, userId) };
      }),
    unfollow: async (_root: unknown, { userId }: { userId: string }, context: Ctx) => {
      const actor = actorOf(context);
      await context.deps.follows.unfollow(actor, userId);
      return { user: await context.deps.users.get(actor, userId) };
    },
    createProduct: (_root: unknown, args: Input, context: Ctx) => context.deps.products.create(actorOf(context), inputOf<NewProduct>(args)),
    updateProduct: (_root: unknown, args: Id & Input, context: Ctx) => context.deps.products.update(actorOf(context), args.id, inputOf(args)),
    deleteProduct: async (_root: unknown, { id }: Id, context: Ctx) => {
      await context.deps.products.delete(actorOf(context), id);
      return { deletedId: id };
    },
    createOrder: (_root: unknown, args: Input & { idempotencyKey?: string | null }, context: Ctx) => {
      const input = inputOf<NewOrder>(args);
      return idempotent(context, PLACE_ORDER, NewOrderInput as InputSpec<never>, args.idempotencyKey, input, presentOrder, () => context.deps.orders.place(actorOf(context), input));
    },
    cancelOrder: (_root: unknown, { id }: Id, context: Ctx) => context.deps.orders.cancel(actorOf(context), id),
    updateOrderStatus: (_root: unknown, args: Id & Input, context: Ctx) => context.deps.orders.setStatus(actorOf(context), args.id, inputOf<{ status: string }>(args).status),
    createCharge: (_root: unknown, args: Input & { idempotencyKey?: string | null }, context: Ctx) => {
      const input = inputOf<NewCharge>(args);
      return idempotent(context, CREATE_CHARGE, NewChargeInput as InputSpec<never>, args.idempotencyKey, input, presentCharge, () => context.deps.charges.create(actorOf(context), input));
    },
    createApiKey: async (_root: unknown, args: Input, context: Ctx) => {
      const created = await context.deps.apiKeys.create(actorOf(context), inputOf<NewApiKey>(args));
      return { apiKey: created.key, secret: created.secret };
    },
    revokeApiKey: async (_root: unknown, { id }: Id, context: Ctx) => {
      await context.deps.apiKeys.revoke(actorOf(context), id);
      return { deletedId: id };
    },
    createWebhookEndpoint: async (_root: unknown, args: Input, context: Ctx) => {
      const { endpoint, secret } = await context.deps.webhooks.create(actorOf(context), inputOf<NewWebhookEndpoint>(args));
      return { webhookEndpoint: endpoint, secret };
    },
    updateWebhookEndpoint: (_root: unknown, args: Id & Input, context: Ctx) => {
      const changes = inputOf<WebhookEndpointPatch>(args);
      // An explicit null clears the description (canonicalInput drops nulls as "not sent").
      if (args.input.description === null) changes.description = null;
      return context.deps.webhooks.update(actorOf(context), args.id, changes);
    },
    deleteWebhookEndpoint: async (_root: unknown, { id }: Id, context: Ctx) => {
      await context.deps.webhooks.delete(actorOf(context), id);
      return { deletedId: id };
    },
    rotateWebhookEndpointSecret: async (_root: unknown, args: Id & { input?: Record<string, unknown> | null }, context: Ctx) => {
      const input = args.input ? inputOf<RotateWebhookSecret>({ input: args.input }) : undefined;
      const { endpoint, secret } = await context.deps.webhooks.rotateSecret(actorOf(context), args.id, input);
      return { webhookEndpoint: endpoint, secret };
    },
  },
};

