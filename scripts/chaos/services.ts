import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * The chaos run's own PostgreSQL cluster and Redis server, on ports of their own: the shared
 * ones (5432, 6379) are never touched. Needs root (pg_createcluster runs the cluster as postgres).
 */
export interface PrivateServices {
  databaseUrl: string;
  redisUrl: string;
  /** These three run asynchronously: the load goes on while they work. */
  restartPostgres(): Promise<void>;
  stopRedis(): Promise<void>;
  startRedis(): Promise<void>;
  /** Stops and removes both; safe to call twice and after a partial start. */
  remove(): void;
}

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const quiet = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' });

function pgVersion(): string {
  const versions = run('ls', ['/usr/lib/postgresql']).split(/\s+/).filter(Boolean).sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error('no PostgreSQL server under /usr/lib/postgresql');
  return versions[0];
}

function waitFor(check: () => boolean, what: string, timeoutMs = 30_000): void {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`${what} did not come up`);
    spawnSync('sleep', ['0.2']);
  }
}

export function startPrivateServices(options: { pgPort: number; redisPort: number; name: string }): PrivateServices {
  const version = pgVersion();
  const { pgPort, redisPort, name } = options;
  const pgReady = () => quiet('pg_isready', ['-h', '127.0.0.1', '-p', String(pgPort), '-q']).status === 0;
  const redisUp = () => spawnSync('redis-cli', ['-p', String(redisPort), 'ping'], { stdio: ['ignore', 'pipe', 'ignore'] }).stdout?.toString().trim() === 'PONG';
  const redisArgs = ['--port', String(redisPort), '--bind', '127.0.0.1', '--daemonize', 'yes', '--save', '', '--appendonly', 'no'];
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    if (redisUp()) quiet('redis-cli', ['-p', String(redisPort), 'shutdown', 'nosave']);
    quiet('pg_dropcluster', ['--stop', version, name]);
  };

  // A cluster left by an interrupted run goes first.
  quiet('pg_dropcluster', ['--stop', version, name]);
  if (redisUp()) quiet('redis-cli', ['-p', String(redisPort), 'shutdown', 'nosave']);
  try {
    run('pg_createcluster', [version, name, '-p', String(pgPort), '--', '--auth=trust']);
    run('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, 'start']);
    waitFor(pgReady, `PostgreSQL cluster ${name} on ${pgPort}`);
    run('redis-server', redisArgs);
    waitFor(redisUp, `redis on ${redisPort}`);
  } catch (error) {
    remove();
    throw error;
  }
  return {
    databaseUrl: `postgres://postgres@127.0.0.1:${pgPort}/postgres`,
    redisUrl: `redis://127.0.0.1:${redisPort}`,
    restartPostgres: async () => {
      await execFileAsync('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, 'restart', '-m', 'fast']);
    },
    stopRedis: async () => {
      await execFileAsync('redis-cli', ['-p', String(redisPort), 'shutdown', 'nosave']).catch(() => undefined);
    },
    startRedis: async () => {
      await execFileAsync('redis-server', redisArgs);
    },
    remove,
  };
}
