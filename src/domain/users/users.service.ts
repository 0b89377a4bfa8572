import { EVERYONE, type EventLog } from '../events/index.ts';
import type { Clock } from '../shared/clock.ts';
import type { Transactor } from '../shared/transactor.ts';
import { AppError, notFound, type FieldError, preconditionFailed } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import { canActFor, isAdmin, requireScope, PLANS, ROLES, type Plan, type Principal, type Role } from '../shared/principal.ts';
import type { Page, PageRequest } from '../shared/page.ts';
import type { CredentialRevoker, PasswordHasher, UpdateUser, UserFilter, UserRepository } from './users.port.ts';
import { blankFields } from '../shared/validation.ts';
import { PatchUserInput, SignUpInput, type SignUp, type UserUpdate } from './users.inputs.ts';
import { USER_STATUSES, presentUser, publicProfile, type NewUser, type PublicProfile, type User, type UserStatus } from './users.types.ts';

function checkEnum(field: string, value: unknown, allowed: readonly string[], errors: FieldError[]): void {
  if (typeof value !== 'string' || !allowed.includes(value)) {
    errors.push({ field, code: 'invalid_value', message: `must be one of ${allowed.join(', ')}` });
  }
}

export interface UsersServiceDeps {
  users: UserRepository;
  events: EventLog;
  transactor: Transactor;
  passwords: PasswordHasher;
  credentials: CredentialRevoker;
  clock: Clock;
}

/** The directory's filters as a caller gives them; the service checks each value. */
export interface UserListFilter {
  status?: readonly string[] | undefined;
  role?: readonly string[] | undefined;
  plan?: readonly string[] | undefined;
}

export interface UpdateOptions {
  /** The version the caller last saw (from If-Match); the update fails with 412 when it moved on. */
  expectedVersion?: number | undefined;
}

/** Sign-up, profiles and account management. Authorization lives here, not in transports. */
export class UsersService {
  readonly #deps: UsersServiceDeps;

  constructor(deps: UsersServiceDeps) {
    this.#deps = deps;
  }

  /** Public sign-up. */
  async register(input: SignUp): Promise<User> {
    const valid = SignUpInput.parse(input, blankFields(input, ['display_name']));
    return this.#create({ email: valid.email, name: valid.display_name, password: valid.password, role: 'user' });
  }

  /** Creates or repairs an administrator (boot-time `STOA_ADMIN_EMAIL`, the seed, the CLI). */
  async ensureAdmin(email: string, password: string, name = 'Administrator'): Promise<User> {
    const existing = await this.#deps.users.findByEmail(email);
    if (!existing) {
      try {
        return await this.#create({ email, name, password, role: 'admin' });
      } catch (error) {
        // Processes of a deployment starting together race to create it: the loser repairs the winner's row.
        if (error instanceof AppError && error.code === 'EMAIL_TAKEN') return this.ensureAdmin(email, password, name);
        throw error;
      }
    }
    const passwordOk = await this.#deps.passwords.verify(password, existing.passwordHash);
    if (passwordOk && existing.role === 'admin' && existing.status === 'active') return existing;
    const changes: UpdateUser = { role: 'admin', status: 'active' };
    if (!passwordOk) changes.passwordHash = await this.#deps.passwords.hash(password);
    const updated = await this.#deps.users.update(existing.id, changes, this.#deps.clock.now());
    if (!updated || typeof updated === 'string') throw new AppError('CONFLICT', 'Could not update the administrator');
    return updated;
  }

  async #create(input: NewUser & { role: 'user' | 'admin' }): Promise<User> {
    const passwordHash = await this.#deps.passwords.hash(input.password);
    const now = this.#deps.clock.now();
    return this.#deps.transactor.run(async () => {
      const user = await this.#deps.users.insert({ id: newId('usr', now.getTime()), email: input.email.trim(), name: input.name, passwordHash, role: input.role, plan: 'free', now });
      if (user === 'email_taken') throw new AppError('EMAIL_TAKEN', 'A user with this email already exists');
      await this.#deps.events.append(
        // Who signed up is the user's own and the administrators' business.
        { type: 'user.created', resourceType: 'user', resourceId: user.id, data: presentUser(user), audience: [user.id] },
        now,
      );
      return user;
    });
  }

  /** The caller's own full record. */
  async me(actor: Principal): Promise<User> {
    requireScope(actor, 'users:read');
    const user = await this.#deps.users.findById(actor.userId);
    if (!user) throw new AppError('UNAUTHENTICATED', 'The account behind this credential no longer exists');
    return user;
  }

  /** The full record for the user itself and admins; the public profile for anyone else signed in. */
  async get(actor: Principal, id: string): Promise<User | PublicProfile> {
    requireScope(actor, 'users:read');
    const user = await this.#deps.users.findById(id);
    if (!user) throw notFound('User');
    return canActFor(actor, id) ? user : publicProfile(user);
  }

  /** The user directory: public profiles for everyone signed in; only admins filter by status, role and plan. */
  async list(actor: Principal, filter: UserListFilter, page: PageRequest): Promise<Page<User | PublicProfile>> {
    requireScope(actor, 'users:read');
    const privileged = (['status', 'role', 'plan'] as const).filter((f) => filter[f] !== undefined);
    if (privileged.length > 0 && !isAdmin(actor)) throw new AppError('FORBIDDEN', `Only administrators may filter users by ${privileged.join(', ')}`);
    const errors: FieldError[] = [];
    for (const value of filter.status ?? []) checkEnum('status', value, USER_STATUSES, errors);
    for (const value of filter.role ?? []) checkEnum('role', value, ROLES, errors);
    for (const value of filter.plan ?? []) checkEnum('plan', value, PLANS, errors);
    if (errors.length > 0) throw new AppError('INVALID_PARAMETER', `Invalid query parameter: ${[...new Set(errors.map((e) => e.field))].join(', ')}`, { errors });
    // Every value was checked against its list above.
    const result = await this.#deps.users.list(filter as UserFilter, page);
    return { ...result, items: result.items.map((user) => (canActFor(actor, user.id) ? user : publicProfile(user))) };
  }

  /** Several users at once (includes): full records for the caller itself and admins, public profiles otherwise. */
  async getMany(actor: Principal | null, ids: readonly string[]): Promise<Array<User | PublicProfile>> {
    const users = await this.#deps.users.findByIds([...new Set(ids)]);
    return users.map((user) => (actor && canActFor(actor, user.id) ? user : publicProfile(user)));
  }

  async update(actor: Principal, id: string, input: UserUpdate, options: UpdateOptions = {}): Promise<User> {
    requireScope(actor, 'users:write');
    await this.#authorizeChange(actor, id);
    const privileged = (['role', 'status', 'plan'] as const).filter((f) => (input as Partial<UserUpdate> | undefined)?.[f] !== undefined);
    if (privileged.length > 0 && !isAdmin(actor)) {
      throw new AppError('FORBIDDEN', `Only administrators may change ${privileged.join(', ')}`);
    }
    const changes = PatchUserInput.parse(input, blankFields(input, ['display_name']));

    const update: UpdateUser = {};
    if (changes.email !== undefined) update.email = changes.email.trim();
    if (changes.display_name !== undefined) update.name = changes.display_name;
    if (changes.role !== undefined) update.role = changes.role as Role;
    if (changes.status !== undefined) update.status = changes.status as UserStatus;
    if (changes.plan !== undefined) update.plan = changes.plan as Plan;
    if (changes.password !== undefined) update.passwordHash = await this.#deps.passwords.hash(changes.password);

    const now = this.#deps.clock.now();
    const result = await this.#deps.transactor.run(async () => {
      const updated = await this.#deps.users.update(id, update, now, options.expectedVersion);
      // Thrown inside, so a failed statement rolls the transaction back (PostgreSQL aborts it).
      if (updated === undefined) throw notFound('User');
      if (updated === 'email_taken') throw new AppError('EMAIL_TAKEN', 'A user with this email already exists');
      if (updated === 'version_mismatch') throw preconditionFailed();
      // Everyone signed in may read a profile: the event carries only what they may see, and only when that changed.
      if (update.name !== undefined) {
        await this.#deps.events.append({ type: 'user.updated', resourceType: 'user', resourceId: updated.id, data: presentUser(publicProfile(updated)), audience: [EVERYONE] }, now);
      }
      return updated;
    });
    // A new password ends every other session: stolen refresh tokens stop working.
    if (update.passwordHash !== undefined) await this.#deps.credentials.revokeAllForUser(id, now);
    return result;
  }

  async delete(actor: Principal, id: string, options: UpdateOptions = {}): Promise<void> {
    requireScope(actor, 'users:write');
    await this.#authorizeChange(actor, id);
    const now = this.#deps.clock.now();
    const deleted = await this.#deps.users.softDelete(id, now, options.expectedVersion);
    if (!deleted) {
      if (options.expectedVersion !== undefined && (await this.#deps.users.findById(id))) throw preconditionFailed();
      throw notFound('User');
    }
    await this.#deps.credentials.revokeAllForUser(id, now);
  }

  async #authorizeChange(actor: Principal, id: string): Promise<void> {
    if (canActFor(actor, id)) return;
    // Existence is no secret (profiles are readable), so a stranger's account answers 403, an unknown id 404.
    if (!(await this.#deps.users.findById(id))) throw notFound('User');
    throw new AppError('FORBIDDEN', 'You may only change your own account');
  }
}

