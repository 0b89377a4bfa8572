/**
 * Readiness: may this process take traffic? One set of probes (the database,
 * Redis when configured, later the job queue) answered by every transport
 * that reports health — REST `/readyz` today, the gRPC health service next.
 */

/** A dependency check: resolves when the dependency answers, rejects with why not. */
export type Probe = () => Promise<unknown>;

export interface ReadinessReport {
  ready: boolean;
  /** Probe name → `ok` or `failing: <reason>` (at most 200 characters). */
  checks: Record<string, string>;
  /** The names of the failing probes, in probe order. */
  failing: string[];
}

export interface Readiness {
  check(): Promise<ReadinessReport>;
}

export const DEFAULT_PROBE_TIMEOUT_MS = 2_000;

function withTimeout(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).then(
    () => clearTimeout(timer),
    (error: unknown) => {
      clearTimeout(timer);
      throw error;
    },
  );
}

/** Runs every probe at once, each bounded by `timeoutMs`; a probe that throws synchronously counts as failing. */
export function createReadiness(probes: Readonly<Record<string, Probe>>, timeoutMs = DEFAULT_PROBE_TIMEOUT_MS): Readiness {
  const names = Object.keys(probes);
  return {
    async check() {
      const results = await Promise.all(
        names.map(async (name) => {
          try {
            await withTimeout(Promise.resolve().then(probes[name]!), timeoutMs);
            return 'ok';
          } catch (error) {
            return `failing: ${(error as Error)?.message ?? String(error)}`.slice(0, 200);
          }
        }),
      );
      const checks: Record<string, string> = {};
      names.forEach((name, i) => (checks[name] = results[i]!));
      const failing = names.filter((name) => checks[name] !== 'ok');
      return { ready: failing.length === 0, checks, failing };
    },
  };
}
