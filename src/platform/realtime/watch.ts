import type { Clock } from '../../domain/shared/clock.ts';
import type { Principal } from '../../domain/shared/principal.ts';
import type { CredentialStatus } from '../auth/tickets.ts';

/** A long-lived connection whose credential must stay good. */
export interface WatchedConnection {
  readonly principal: Principal;
  /** When the credential expires (an access token); null for none. */
  readonly expiresAt: Date | null;
  close(reason: 'revoked' | 'expired'): void;
}

/**
 * Closes long-lived connections whose credential went bad: an API key
 * revoked, an account suspended (one query per tick for all of this process's
 * connections, so every process notices within a tick), or an access token
 * expired.
 */
export class CredentialWatch {
  readonly #connections = new Set<WatchedConnection>();
  readonly #status: CredentialStatus;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #checking = false;

  constructor(deps: { status: CredentialStatus; clock: Clock; intervalMs: number }) {
    this.#status = deps.status;
    this.#clock = deps.clock;
    this.#intervalMs = deps.intervalMs;
  }

  add(connection: WatchedConnection): () => void {
    this.#connections.add(connection);
    if (!this.#timer) {
      this.#timer = setInterval(() => void this.check(), this.#intervalMs);
      this.#timer.unref();
    }
    return () => {
      this.#connections.delete(connection);
      if (this.#connections.size === 0) this.stop();
    };
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async check(): Promise<void> {
    if (this.#checking || this.#connections.size === 0) return;
    this.#checking = true;
    try {
      const now = this.#clock.now();
      const keys = new Set<string>();
      const users = new Set<string>();
      for (const connection of [...this.#connections]) {
        if (connection.expiresAt && connection.expiresAt.getTime() <= now.getTime()) {
          this.#connections.delete(connection);
          connection.close('expired');
          continue;
        }
        users.add(connection.principal.userId);
        if (connection.principal.apiKeyId) keys.add(connection.principal.apiKeyId);
      }
      if (users.size === 0) return;
      const { revokedKeys, inactiveUsers } = await this.#status.check([...keys], [...users], now);
      if (revokedKeys.size === 0 && inactiveUsers.size === 0) return;
      for (const connection of [...this.#connections]) {
        const { userId, apiKeyId } = connection.principal;
        if (inactiveUsers.has(userId) || (apiKeyId && revokedKeys.has(apiKeyId))) {
          this.#connections.delete(connection);
          connection.close('revoked');
        }
      }
    } catch {
      // The database is away: check again next tick.
    } finally {
      this.#checking = false;
    }
  }
}
