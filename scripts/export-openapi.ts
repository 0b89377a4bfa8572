import { writeFileSync } from 'node:fs';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createContainer } from '../src/container.ts';

/** Writes the OpenAPI document the running app serves at /openapi.json (for linting and SDK generation). */
const target = process.argv[2] ?? 'openapi.json';
const config = loadConfig({ ...process.env, STOA_DATA_DIR: 'memory', STOA_SEED_DEMO: 'false', LOG_LEVEL: 'silent', DATABASE_URL: '', REDIS_URL: '' });
const container = await createContainer(config);
const app = await buildApp(container);
writeFileSync(target, JSON.stringify(app.swagger(), null, 2) + '\n');
await app.close();
await container.close();
process.stdout.write(`wrote ${target}\n`);
