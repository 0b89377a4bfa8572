// The /graphiql page's browser bundle (docs/graphql.md): web/graphiql/main.ts → dist/graphiql/graphiql.js and
// graphiql.css, with GraphiQL 4, React and graphql-ws from node_modules. Nothing is fetched at run time:
// Stoa serves these files itself, under a policy that names no other origin.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Builds the bundle into `outdir` (default dist/graphiql). */
export async function buildGraphiql(outdir = path.join(root, 'dist/graphiql')) {
  await build({
    entryPoints: { graphiql: path.join(root, 'web/graphiql/main.ts') },
    outdir,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  });
  return outdir;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = await buildGraphiql();
  process.stdout.write(`stoa build: ${path.relative(root, outdir)}/\n`);
}
