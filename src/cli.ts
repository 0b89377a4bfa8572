import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createContainer, signingKeyGraceSeconds } from './container.ts';
import { rotateSigningKey } from './infra/keys/signing-key-store.ts';
import { SCOPES } from './domain/shared/principal.ts';
import { AppError } from './domain/shared/errors.ts';
import { isEmpty, planScale, seedDemo, seedScale } from './infra/db/seed.ts';
import { startServer } from './server.ts';

const USAGE = `Usage: stoa <command> [options]

Commands:
  serve [--role api|worker|all]           start Stoa (default); --role (or STOA_ROLE, default all) picks the
                                          API, the background workers, or both
  migrate                                 apply pending database migrations
  seed [--scale N]                        demo data; with --scale, a marketplace of N posts (with users,
                                          follows, products and orders) in batches, with a progress bar
  keys create --user EMAIL --scopes a,b [--name NAME] [--expires-at ISO]
  keys list --user EMAIL
  keys revoke --user EMAIL --id KEY_ID
  keys rotate-signing                     a new JWT signing key signs from now on; the previous one keeps
                                          verifying until the tokens it signed have expired

Configuration comes from environment variables (see README).`;

function fail(message: string): never {
  process.stderr.write(`stoa: ${message}\n`);
  process.exit(1);
}

async function withContainer<T>(config: Config, work: (c: Awaited<ReturnType<typeof createContainer>>) => Promise<T>): Promise<T> {
  const container = await createContainer(config);
  try {
    return await work(container);
  } finally {
    await container.close();
  }
}

async function findUserId(container: Awaited<ReturnType<typeof createContainer>>, email: string | undefined): Promise<string> {
  if (!email) fail('--user EMAIL is required');
  const row = await container.database.db
    .selectFrom('users')
    .select('id')
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!row) fail(`no user with email ${email}`);
  return row.id;
}

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      scale: { type: 'string' },
      user: { type: 'string' },
      scopes: { type: 'string' },
      name: { type: 'string' },
      id: { type: 'string' },
      'expires-at': { type: 'string' },
      role: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command = 'serve', sub] = positionals;
  if (values.help || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return;
  }

  let config: Config;
  try {
    config = loadConfig(values.role !== undefined ? { ...process.env, STOA_ROLE: values.role } : process.env);
  } catch (error) {
    if (error instanceof ConfigError) fail(`configuration: ${error.message}`);
    throw error;
  }

  switch (command) {
    case 'serve':
      await startServer(config);
      return;
    case 'migrate':
      // createContainer applies migrations.
      await withContainer(config, async () => process.stdout.write('migrations applied\n'));
      return;
    case 'seed':
      await withContainer(config, async (container) => {
        if (await isEmpty(container)) {
          const demo = await seedDemo(container);
          process.stdout.write(`demo admin ${demo.adminEmail} / ${demo.adminPassword}\ndemo API key ${demo.apiKey}\n`);
        }
        if (values.scale !== undefined) {
          const posts = Number(values.scale);
          if (!Number.isInteger(posts) || posts < 1 || posts > 10_000_000) fail('--scale must be an integer from 1 to 10000000');
          const bar = new cliProgress.SingleBar(
            { format: 'seeding [{bar}] {percentage}% {value}/{total} rows | {phase} | {eta_formatted} left', etaBuffer: 50 },
            cliProgress.Presets.shades_classic,
          );
          const started = performance.now();
          const plan = planScale(posts);
          bar.start(plan.users + plan.follows + plan.products + plan.posts + plan.orders + plan.orderItems, 0, { phase: 'users' });
          const seeded = await seedScale(container, posts, ({ phase, done }) => bar.update(done, { phase }));
          bar.stop();
          const seconds = ((performance.now() - started) / 1000).toFixed(1);
          process.stdout.write(
            `seeded ${seeded.posts} posts by ${seeded.users} users, ${seeded.follows} follows, ${seeded.products} products, ` +
              `${seeded.orders} orders with ${seeded.orderItems} items in ${seconds} s (user password "${seeded.password}")\n`,
          );
        }
      });
      return;
    case 'keys':
      if (sub === 'rotate-signing') {
        if (config.jwtKeys) fail('STOA_JWT_KEYS is set, so the signing keys come from it: rotate by putting a new key first in that list');
        await withContainer(config, async (container) => {
          const rotation = await rotateSigningKey(container.database.db, {
            now: container.clock.now(),
            previousKeyGraceSeconds: signingKeyGraceSeconds(config),
            encryptionKey: config.jwtKeysEncryptionKey,
          });
          process.stdout.write(`signing key ${rotation.kid} signs from now on\n`);
          for (const old of rotation.retired) process.stdout.write(`signing key ${old.kid} verifies until ${old.verifyUntil.toISOString()}\n`);
        });
        return;
      }
      await withContainer(config, async (container) => {
        const userId = await findUserId(container, values.user);
        if (sub === 'create') {
          const scopes = (values.scopes ?? '').split(',').map((s) => s.trim()).filter(Boolean);
          if (scopes.length === 0) fail(`--scopes is required, from: ${SCOPES.join(' ')}`);
          const expiresAt = values['expires-at'] ? new Date(values['expires-at']) : undefined;
          if (expiresAt && Number.isNaN(expiresAt.getTime())) fail('--expires-at must be an ISO 8601 date');
          const { key, secret } = await container.apiKeys.createForUser(userId, { name: values.name ?? 'cli key', scopes, ...(expiresAt && { expires_at: expiresAt.toISOString() }) });
          process.stdout.write(`${secret}\n(id ${key.id}, scopes ${key.scopes.join(' ')}; the secret is not shown again)\n`);
        } else if (sub === 'list') {
          const principal = { userId, role: 'user', plan: 'free', via: 'session', apiKeyId: null, scopes: null, apiVersion: null } as const;
          for (const key of (await container.apiKeys.list(principal, { mode: 'offset', sort: [{ field: 'created_at', descending: false }], page: 1, perPage: 100 })).items) {
            process.stdout.write(`${key.id}  ${key.prefix}…  ${key.name}  [${key.scopes.join(' ')}]\n`);
          }
        } else if (sub === 'revoke') {
          if (!values.id) fail('--id KEY_ID is required');
          const principal = { userId, role: 'user', plan: 'free', via: 'session', apiKeyId: null, scopes: null, apiVersion: null } as const;
          await container.apiKeys.revoke(principal, values.id);
          process.stdout.write(`revoked ${values.id}\n`);
        } else {
          fail('keys takes create, list, revoke or rotate-signing');
        }
      });
      return;
    default:
      fail(`unknown command "${command}"\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof AppError) fail(`${error.code}: ${error.message}${error.errors ? ' ' + JSON.stringify(error.errors) : ''}`);
  fail(error instanceof Error ? error.message : String(error));
});
