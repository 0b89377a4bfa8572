// The dashboard's browser bundle (docs/dashboard.md): web/dashboard/src → dist/dashboard/app.js and app.css,
// with Lit and uPlot from node_modules and the workspace SDK (@stoa/sdk) from its sources. Nothing is fetched at
// run time: Stoa serves these files itself.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Builds the bundle into `outdir` (default dist/dashboard). */
export async function buildDashboard(outdir = path.join(root, 'dist/dashboard')) {
  await build({
    entryPoints: { app: path.join(root, 'web/dashboard/src/main.ts') },
    outdir,
    bundle: true,
    // The SDK's sources rather than its build (sdk/dist): the page always carries the SDK of this checkout,
    // whatever order the workspace's prepare scripts ran in.
    alias: { '@stoa/sdk': path.join(root, 'sdk/src/index.ts') },
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning',
  });
  return outdir;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = await buildDashboard();
  process.stdout.write(`stoa build: ${path.relative(root, outdir)}/\n`);
}
