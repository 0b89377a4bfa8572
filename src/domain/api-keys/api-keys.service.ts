import type { Page, PageRequest } from '../shared/page.ts';
import type { Clock } from '../shared/clock.ts';
import { AppError, notFound, validationError, type FieldError } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import { canActFor, SCOPES, type Principal, type Scope } from '../shared/principal.ts';
import type { ApiKeyMinter, ApiKeyRepository } from './api-keys.port.ts';
import type { ApiKey, CreatedApiKey, NewApiKey } from './api-keys.types.ts';

export const API_KEY_NAME_MAX = 100;
export const SUPPORTED_API_VERSIONS = ['1', '2'] as const;

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
    const errors: FieldError[] = [];
    if (typeof input.name !== 'string' || input.name.trim().length === 0 || input.name.length > API_KEY_NAME_MAX) {
      errors.push({ field: 'name', code: 'invalid_length', message: `must be 1 to ${API_KEY_NAME_MAX} characters` });
    }
    if (!Array.isArray(input.scopes) || input.scopes.length === 0) {
      errors.push({ field: 'scopes', code: 'required', message: 'must list at least one scope' });
    } else {
      input.scopes.forEach((scope, i) => {
        if (!(SCOPES as readonly string[]).includes(scope)) {
          errors.push({ field: `scopes.${i}`, code: 'invalid_value', message: `must be one of ${SCOPES.join(', ')}` });
        }
      });
    }
    if (input.expiresAt !== undefined && !(input.expiresAt.getTime() > now.getTime())) {
      errors.push({ field: 'expires_at', code: 'in_past', message: 'must be in the future' });
    }
    if (input.apiVersion !== undefined && !(SUPPORTED_API_VERSIONS as readonly string[]).includes(input.apiVersion)) {
      errors.push({ field: 'api_version', code: 'invalid_value', message: `must be one of ${SUPPORTED_API_VERSIONS.join(', ')}` });
    }
    if (errors.length > 0) throw validationError(errors);

    const { secret, prefix, secretHash } = this.#deps.minter.mint();
    const key = await this.#deps.keys.insert({
      id: newId('key', now.getTime()),
      userId,
      name: input.name.trim(),
      prefix,
      secretHash,
      scopes: [...new Set(input.scopes)] as Scope[],
      apiVersion: input.apiVersion ?? null,
      expiresAt: input.expiresAt ?? null,
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
  async update(actor: Principal, id: string, changes: { name?: string; apiVersion?: string | null }): Promise<ApiKey> {
    await this.get(actor, id);
    const errors: FieldError[] = [];
    if (changes.name !== undefined && (changes.name.trim().length === 0 || changes.name.length > API_KEY_NAME_MAX)) {
      errors.push({ field: 'name', code: 'invalid_length', message: `must be 1 to ${API_KEY_NAME_MAX} characters` });
    }
    if (changes.apiVersion !== undefined && changes.apiVersion !== null && !(SUPPORTED_API_VERSIONS as readonly string[]).includes(changes.apiVersion)) {
      errors.push({ field: 'api_version', code: 'invalid_value', message: `must be one of ${SUPPORTED_API_VERSIONS.join(', ')}, or null` });
    }
    if (errors.length > 0) throw validationError(errors);
    const key = await this.#deps.keys.update(id, changes);
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
