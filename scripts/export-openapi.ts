import { writeFileSync } from 'node:fs';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createContainer } from '../src/container.ts';
import { API_VERSIONS } from '../src/platform/versioning/index.ts';

/**
 * Writes the OpenAPI documents the running app serves: /openapi.json (the
 * latest version) to the target, and each version's beside it as
 * openapi.v1.json, openapi.v2.json (for linting and SDK generation).
 */
const target = process.argv[2] ?? 'openapi.json';
const config = loadConfig({ ...process.env, STOA_DATA_DIR: 'memory', STOA_SEED_DEMO: 'false', LOG_LEVEL: 'silent', DATABASE_URL: '', REDIS_URL: '' });
const container = await createContainer(config);
const app = await buildApp(container);
const fetchDoc = async (url: string) => (await app.inject({ method: 'GET', url })).body;
writeFileSync(target, (await fetchDoc('/openapi.json')) + '\n');
for (const version of API_VERSIONS) writeFileSync(target.replace(/\.json$/, `.v${version}.json`), (await fetchDoc(`/v${version}/openapi.json`)) + '\n');
await app.close();
await container.close();
process.stdout.write(`wrote ${target}\n`);
