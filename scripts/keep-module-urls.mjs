import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * An esbuild plugin for bundles of Stoa's sources. Sources find their files (migrations, docs, package.json)
 * relative to their own URL (or dirname/filename); inside a bundle every module shares one URL, so each
 * matching module's `import.meta.url` is rewritten to the URL of its source file, expressed relative to the
 * bundle's directory `outdir` so that the checkout can move.
 */
export function keepModuleUrls(outdir, filter = /[\\/]src[\\/].*\.ts$/) {
  return {
    name: 'keep-module-urls',
    setup(pluginBuild) {
      pluginBuild.onLoad({ filter }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        if (!/import\.meta\.(url|dirname|filename)/.test(source)) return undefined;
        const ownUrl = `new URL(${JSON.stringify(path.relative(outdir, args.path).split(path.sep).join('/'))}, import.meta.url)`;
        const contents = source
          .replaceAll('import.meta.url', `${ownUrl}.href`)
          .replaceAll('import.meta.filename', `decodeURIComponent(${ownUrl}.pathname)`)
          .replaceAll('import.meta.dirname', `decodeURIComponent(new URL('.', ${ownUrl}).pathname).replace(/\\/$/, '')`);
        return { contents, loader: 'ts' };
      });
    },
  };
}
