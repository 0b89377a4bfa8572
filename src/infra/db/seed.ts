import { randomBytes } from 'node:crypto';
import { SCOPES } from '../../domain/shared/principal.ts';
import { newId } from '../../domain/shared/ids.ts';
import type { Container } from '../../container.ts';
import { createScryptHasher } from '../../platform/auth/index.ts';

export const DEMO_ADMIN_EMAIL = 'admin@stoa.local';
const DEMO_USERS = [
  { email: 'ada@example.com', name: 'Ada Lovelace' },
  { email: 'grace@example.com', name: 'Grace Hopper' },
  { email: 'linus@example.com', name: 'Linus Torvalds' },
];
const BATCH = 1_000;

export interface DemoCredentials {
  adminEmail: string;
  adminPassword: string;
  userPassword: string;
  apiKey: string;
}

/** True when the database holds no user yet (a first start). */
export async function isEmpty(container: Container): Promise<boolean> {
  const row = await container.database.db.selectFrom('users').select('id').limit(1).executeTakeFirst();
  return row === undefined;
}

/** Demo data for a first embedded start: an admin with an API key, and a few users. */
export async function seedDemo(container: Container): Promise<DemoCredentials> {
  const adminPassword = randomBytes(12).toString('base64url');
  const userPassword = randomBytes(9).toString('base64url');
  const admin = await container.users.ensureAdmin(DEMO_ADMIN_EMAIL, adminPassword, 'Demo Admin');
  for (const user of DEMO_USERS) {
    if (!(await container.database.db.selectFrom('users').select('id').where('email', '=', user.email).executeTakeFirst())) {
      await container.users.register({ ...user, password: userPassword });
    }
  }
  const { secret } = await container.apiKeys.createForUser(admin.id, { name: 'demo key', scopes: [...SCOPES] });
  return { adminEmail: DEMO_ADMIN_EMAIL, adminPassword, userPassword, apiKey: secret };
}

/**
 * Bulk demo users for load and pagination work: batched multi-row inserts,
 * one shared password hash (hashing N passwords would dominate the run).
 */
export async function seedScale(container: Container, count: number, onProgress: (done: number) => void): Promise<{ password: string }> {
  const password = 'demo-password';
  const hash = await createScryptHasher(container.config.passwordHashCost).hash(password);
  const runTag = randomBytes(3).toString('hex');
  let done = 0;
  while (done < count) {
    const size = Math.min(BATCH, count - done);
    const now = new Date();
    const rows = Array.from({ length: size }, (_, i) => {
      const n = done + i + 1;
      return {
        id: newId('usr', now.getTime()),
        email: `user${n}.${runTag}@example.com`,
        name: `Demo User ${n}`,
        password_hash: hash,
        role: 'user' as const,
        plan: (['free', 'pro', 'enterprise'] as const)[n % 3]!,
        created_at: now,
        updated_at: now,
      };
    });
    await container.database.db.insertInto('users').values(rows).execute();
    done += size;
    onProgress(done);
  }
  return { password };
}
