// The build `npm install` runs (the `prepare` script): it makes starting Stoa cheap without adding a step.
//
// 1. dist/stoa.mjs — src/cli.ts and everything it imports, dependencies included, bundled once by esbuild.
//    Loading one plain module costs about a quarter of the CPU of transpiling ~150 TypeScript files through a
//    loader at every start. bin/stoa.mjs uses the bundle only while it is newer than every source file, so
//    an edited checkout runs its sources (through tsx) until the next build.
// 2. dist/pglite-<version>/ — an empty PGlite cluster, just after initdb, and the same as a .tar.gz. A new
//    embedded database starts as a copy of the directory (or, in memory, from the archive) instead of running
//    initdb: about 5 s of CPU and 400 MB of WebAssembly memory that is never returned. Migrations still run
//    as usual on top of it.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildDashboard } from './build-dashboard.mjs';
import { buildGraphiql } from './build-graphiql.mjs';
import { keepModuleUrls } from './keep-module-urls.mjs';
import { ownSourcesOnly } from './source-map.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const dist = path.join(root, 'dist');
mkdirSync(dist, { recursive: true });

const bundled = await build({
  entryPoints: [path.join(root, 'src/cli.ts')],
  outfile: path.join(dist, 'stoa.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Dependencies are bundled too: resolving and loading ~2,000 files of node_modules one by one was a third of
  // a warm start's CPU. Left outside: PGlite (it finds its WebAssembly and data next to its own code), pino
  // (worker-thread transports) and the build tools; swagger-ui is told where its assets are
  // (src/transports/rest/plugins/openapi.ts). CommonJS code inside an ES module needs a `require`: the banner
  // gives it one.
  external: ['@electric-sql/pglite', 'pino', 'thread-stream', 'esbuild', 'tsx'],
  banner: { js: "import { createRequire as __stoaCreateRequire } from 'node:module'; const require = __stoaCreateRequire(import.meta.url);" },
  // Whitespace and syntax only: identifiers keep their names, so stack traces through dependencies stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  sourcesContent: false,
  write: false,
  logLevel: 'warning',
  // Each source keeps its own import.meta.url (scripts/keep-module-urls.mjs).
  plugins: [keepModuleUrls(dist)],
});
// The map covers src/ only (scripts/source-map.mjs).
for (const file of bundled.outputFiles) {
  writeFileSync(file.path, file.path.endsWith('.map') ? JSON.stringify(ownSourcesOnly(JSON.parse(file.text))) : file.contents);
}

// 3. dist/dashboard/ — the /dashboard page's script and styles (scripts/build-dashboard.mjs).
await buildDashboard();

// 4. dist/graphiql/ — the /graphiql page's GraphiQL, React and graphql-ws (scripts/build-graphiql.mjs).
await buildGraphiql();

const pgliteVersion = JSON.parse(readFileSync(path.join(root, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')).version;
const templateDir = path.join(dist, `pglite-${pgliteVersion}`);
rmSync(templateDir, { recursive: true, force: true });
const { PGlite } = await import('@electric-sql/pglite');
const pglite = new PGlite({ dataDir: templateDir });
await pglite.waitReady;
const dump = await pglite.dumpDataDir('gzip');
await pglite.close();
writeFileSync(`${templateDir}.tar.gz`, Buffer.from(await dump.arrayBuffer()));
process.stdout.write(`stoa build: dist/stoa.mjs, dist/dashboard/, ${path.relative(root, templateDir)}/ and its .tar.gz\n`);
