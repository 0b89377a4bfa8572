/**
 * `npm run bench -- <name> [options]`: runs bench/<name>.ts.
 * Each benchmark prints a table and writes JSON to bench/results/.
 */
const BENCHES: Record<string, () => Promise<{ main(argv: string[]): Promise<number> }>> = {
  graphql: () => import('./graphql.ts'),
  grpc: () => import('./grpc.ts'),
  idempotency: () => import('./idempotency.ts'),
  pagination: () => import('./pagination.ts'),
  realtime: () => import('./realtime.ts'),
  'rate-limit': () => import('./rate-limit.ts'),
  'rate-limit-instructions': () => import('./rate-limit-instructions.ts'),
  pipeline: () => import('./pipeline.ts'),
  sdk: () => import('./sdk.ts'),
  startup: () => import('./startup.ts'),
  webhooks: () => import('./webhooks.ts'),
  usage: () => import('./usage.ts'),
};

const [name, ...argv] = process.argv.slice(2);
const load = name ? BENCHES[name] : undefined;
if (!load) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(BENCHES).join('|')}> [options]\n`);
  process.exit(2);
}
try {
  process.exit(await (await load()).main(argv));
} catch (error) {
  process.stderr.write(`bench ${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}
