import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { keepModuleUrls } from '../scripts/keep-module-urls.mjs';

/** Where bench bundles go: next to dist/stoa.mjs, so that the sources' own URLs resolve as they do there. */
export const DIST = fileURLToPath(new URL('../dist', import.meta.url));

/**
 * Bundles a bench entry as production runs Stoa: one esbuild bundle (as scripts/build.mjs makes
 * dist/stoa.mjs), not through tsx, whose keepNames gives every closure a property dictionary of its own
 * (~250 bytes each) and a `__name` call each time one is made. Dependencies stay packages; each source's
 * `import.meta.url` is kept, as the build does (and bench/results.ts's, so results still go to bench/results/);
 * the entry's own is the bundle's. Returns the bundle's path.
 */
export async function bundleBench(entry: string, name: string): Promise<string> {
  const outfile = path.join(DIST, `bench-${name}.mjs`);
  await build({ entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning', plugins: [keepModuleUrls(DIST, /[\\/](src[\\/].*|bench[\\/]results)\.ts$/)] });
  return outfile;
}
