import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { JWK } from 'jose';
import { generateSigningKey } from '../../platform/auth/access-tokens.ts';

const FILE_NAME = 'jwt-signing-keys.json';

/**
 * The JWT signing keys: from `STOA_JWT_KEYS` when given, else from the data
 * directory, else freshly generated and persisted there (mode 0600) so tokens
 * survive a restart. With a throw-away (`memory`) data directory the key lives
 * as long as the process.
 */
export async function loadSigningKeys(options: { configured: string | undefined; dataDir: string }): Promise<JWK[]> {
  if (options.configured) return JSON.parse(options.configured) as JWK[];
  if (options.dataDir === 'memory') return [await generateSigningKey()];
  const file = path.join(options.dataDir, FILE_NAME);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as JWK[];
  mkdirSync(options.dataDir, { recursive: true });
  const keys = [await generateSigningKey()];
  writeFileSync(file, JSON.stringify(keys, null, 2), { mode: 0o600 });
  return keys;
}
