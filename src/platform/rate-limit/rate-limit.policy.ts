import { ALGORITHMS, type AlgorithmName, type FailMode, type Policy, type PolicyScope, type RateLimitCheck } from './rate-limit.store.ts';

/** A policy as configured: `<limit>/<window>[ <algorithm>][ fail-open|fail-closed][ two-tier]`, or `off`. */
export interface PolicySpec {
  readonly limit: number;
  readonly windowMs: number;
  readonly algorithm: AlgorithmName | undefined;
  readonly failMode: FailMode | undefined;
  readonly twoTier: boolean;
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses `100/1m`, `20/1s token-bucket`, `10/15m gcra fail-closed`, `5000/1m two-tier`.
 * Returns `null` for `off`; throws an Error whose message says what is wrong.
 */
export function parsePolicySpec(raw: string): PolicySpec | null {
  const text = raw.trim();
  if (text === 'off') return null;
  const [rate = '', ...options] = text.split(/[\s,]+/);
  const match = /^(\d+)\/(\d*)(ms|s|m|h|d)?$/.exec(rate);
  if (!match) throw new Error('must look like 100/1m (limit/window, window in s, m, h or d), optionally followed by an algorithm, fail-open|fail-closed and two-tier, or be off');
  const limit = Number(match[1]);
  const windowMs = Number(match[2] || '1') * UNITS[match[3] ?? 's']!;
  if (limit < 1 || limit > 1_000_000_000) throw new Error('limit must be between 1 and 1000000000');
  if (windowMs < 1_000 || windowMs > 31 * 86_400_000 || windowMs % 1_000 !== 0) throw new Error('window must be whole seconds between 1s and 31d');
  let algorithm: AlgorithmName | undefined;
  let failMode: FailMode | undefined;
  let twoTier = false;
  for (const option of options) {
    if ((ALGORITHMS as readonly string[]).includes(option)) algorithm = option as AlgorithmName;
    else if (option === 'fail-open' || option === 'fail-closed') failMode = option === 'fail-open' ? 'open' : 'closed';
    else if (option === 'two-tier') twoTier = true;
    else throw new Error(`unknown option "${option}" (algorithms: ${ALGORITHMS.join(', ')}; fail-open, fail-closed, two-tier)`);
  }
  if (twoTier && algorithm !== undefined && algorithm !== 'fixed-window') throw new Error('two-tier works with fixed-window only');
  return { limit, windowMs, algorithm, failMode, twoTier };
}

/** The configurable policy slots. Plans apply to every limited request; the others to their class. */
export const POLICY_SLOTS = ['free', 'pro', 'enterprise', 'burst', 'login-ip', 'login-account', 'search', 'writes', 'global'] as const;
export type PolicySlot = (typeof POLICY_SLOTS)[number];

const SCOPES: Record<PolicySlot, PolicyScope> = {
  free: 'subject',
  pro: 'subject',
  enterprise: 'subject',
  burst: 'subject',
  'login-ip': 'ip',
  'login-account': 'account',
  search: 'subject',
  writes: 'subject',
  global: 'global',
};

export interface PolicySetOptions {
  specs: Partial<Record<PolicySlot, PolicySpec | null>>;
  algorithm: AlgorithmName;
  failMode: FailMode;
}

/** What the adapter knows about a request, in transport-neutral terms. */
export interface RequestIdentity {
  /** `key:<id>`, `user:<id>` or `ip:<grouped ip>`: who the plan and class policies count. */
  subject: string;
  /** The client IP, grouped (IPv6 by prefix). */
  ip: string;
  plan: 'free' | 'pro' | 'enterprise';
  /** Normalised and hashed login account, for login requests that name one. */
  account?: string | undefined;
}

/** The classes a route can belong to besides its plan. */
export interface RequestClasses {
  login?: boolean;
  search?: boolean;
  write?: boolean;
}

const PLAN_INDEX = { free: 0, pro: 1, enterprise: 2 } as const;
/** Subjects whose check lists are kept; past this the memo starts over (an attacker cycling IPs only costs rebuilds). */
const MEMO_SUBJECTS = 10_000;

/** The compiled policies: which apply to a request, decided with little work per request. */
export class PolicySet {
  readonly #policies: Partial<Record<PolicySlot, Policy>> = {};
  /** Per subject, the check lists already built, by plan and class (login lists name an account and are not kept). */
  readonly #memo = new Map<string, (readonly RateLimitCheck[])[]>();

  constructor(options: PolicySetOptions) {
    for (const slot of POLICY_SLOTS) {
      const spec = options.specs[slot];
      if (!spec) continue;
      const algorithm = spec.twoTier ? 'fixed-window' : (spec.algorithm ?? options.algorithm);
      this.#policies[slot] = Object.freeze({
        name: slot,
        algorithm,
        limit: spec.limit,
        windowMs: spec.windowMs,
        scope: SCOPES[slot],
        failMode: spec.failMode ?? options.failMode,
        twoTier: spec.twoTier,
      });
    }
  }

  get(slot: PolicySlot): Policy | undefined {
    return this.#policies[slot];
  }

  /**
   * Every policy that applies to a request; decided together, atomically. The
   * lists are immutable and, but for login requests, built once per subject,
   * plan and class.
   */
  checksFor(identity: RequestIdentity, classes: RequestClasses): readonly RateLimitCheck[] {
    if (classes.login) return this.#build(identity, classes);
    const slot = PLAN_INDEX[identity.plan] * 4 + (classes.search ? 2 : 0) + (classes.write ? 1 : 0);
    let lists = this.#memo.get(identity.subject);
    if (lists === undefined) {
      if (this.#memo.size >= MEMO_SUBJECTS) this.#memo.clear();
      this.#memo.set(identity.subject, (lists = []));
    }
    return (lists[slot] ??= Object.freeze(this.#build(identity, classes)));
  }

  #build(identity: RequestIdentity, classes: RequestClasses): RateLimitCheck[] {
    const p = this.#policies;
    const checks: RateLimitCheck[] = [];
    const plan = p[identity.plan];
    if (plan) checks.push({ policy: plan, partition: identity.subject });
    if (p.burst) checks.push({ policy: p.burst, partition: identity.subject });
    if (classes.login) {
      if (p['login-ip']) checks.push({ policy: p['login-ip'], partition: `ip:${identity.ip}` });
      if (p['login-account'] && identity.account) checks.push({ policy: p['login-account'], partition: `acct:${identity.account}` });
    }
    if (classes.search && p.search) checks.push({ policy: p.search, partition: identity.subject });
    if (classes.write && p.writes) checks.push({ policy: p.writes, partition: identity.subject });
    if (p.global) checks.push({ policy: p.global, partition: 'global' });
    return checks;
  }
}
