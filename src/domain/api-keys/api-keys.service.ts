import type { Page, PageRequest } from '../shared/page.ts';
import type { Clock } from '../shared/clock.ts';
import { AppError, notFound, type FieldError } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import { canActFor, type Principal, type Scope } from '../shared/principal.ts';
import { blankFields } from '../shared/validation.ts';
import { ApiKeyPatchInput, NewApiKeyInput, type ApiKeyPatch, type NewApiKey } from './api-keys.inputs.ts';
import type { ApiKeyMinter, ApiKeyRepository } from './api-keys.port.ts';
import type { ApiKey, CreatedApiKey } from './api-keys.types.ts';

export interface ApiKeysServiceDeps {
  keys: ApiKeyRepository;
  minter: ApiKeyMinter;
  clock: Clock;
}

/** Creating, listing and revoking API keys. Only a signed-in person (not a key) manages keys. */
export class ApiKeysService {
  readonly #deps: ApiKeysServiceDeps;

  constructor(deps: ApiKeysServiceDeps) {
    this.#deps = deps;
  }

  async create(actor: Principal, input: NewApiKey): Promise<CreatedApiKey> {
    requireSession(actor);
    return this.createForUser(actor.userId, input);
  }

  /** For trusted callers (the CLI, the seed): no principal involved. */
  async createForUser(userId: string, input: NewApiKey): Promise<CreatedApiKey> {
    const now = this.#deps.clock.now();
    const extra: FieldError[] = blankFields(input, ['name']);
    const expiresAt = typeof input?.expires_at === 'string' ? new Date(input.expires_at) : undefined;
    if (expiresAt !== undefined && expiresAt.getTime() <= now.getTime()) {
      extra.push({ field: 'expires_at', code: 'in_past', message: 'must be in the future' });
    }
    NewApiKeyInput.parse(input, extra);

    const { secret, prefix, secretHash } = this.#deps.minter.mint();
    const key = await this.#deps.keys.insert({
      id: newId('key', now.getTime()),
      userId,
      name: input.name.trim(),
      prefix,
      secretHash,
      scopes: [...new Set(input.scopes)] as Scope[],
      apiVersion: input.api_version ?? null,
      expiresAt: expiresAt ?? null,
      createdAt: now,
    });
    return { key, secret };
  }

  async list(actor: Principal, page: PageRequest): Promise<Page<ApiKey>> {
    requireSession(actor);
    return this.#deps.keys.listByUser(actor.userId, page);
  }

  async get(actor: Principal, id: string): Promise<ApiKey> {
    requireSession(actor);
    const key = await this.#deps.keys.findById(id);
    // Another user's key is indistinguishable from a missing one.
    if (!key || key.revokedAt !== null || !canActFor(actor, key.userId)) throw notFound('API key');
    return key;
  }

  /** Renames a key or pins it to an API version (`null` unpins: the latest version applies). */
  async update(actor: Principal, id: string, changes: ApiKeyPatch): Promise<ApiKey> {
    await this.get(actor, id);
    ApiKeyPatchInput.parse(changes, blankFields(changes, ['name']));
    const key = await this.#deps.keys.update(id, {
      ...(changes.name !== undefined && { name: changes.name }),
      ...(changes.api_version !== undefined && { apiVersion: changes.api_version }),
    });
    if (!key) throw notFound('API key');
    return key;
  }

  async revoke(actor: Principal, id: string): Promise<void> {
    await this.get(actor, id);
    if (!(await this.#deps.keys.revoke(id, this.#deps.clock.now()))) throw notFound('API key');
  }
}

function requireSession(actor: Principal): void {
  if (actor.via !== 'session') {
    throw new AppError('FORBIDDEN', 'API keys are managed by a signed-in user (a bearer access token), not by another API key');
  }
}
