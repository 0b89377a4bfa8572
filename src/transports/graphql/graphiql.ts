import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** The bundle `npm install` builds (scripts/build-graphiql.mjs): GraphiQL 4, React and graphql-ws. */
const ASSETS = fileURLToPath(new URL('../../../dist/graphiql/', import.meta.url));
export const GRAPHIQL_ASSETS_PREFIX = '/graphiql/assets/';

/**
 * GraphiQL against this server's /graphql: queries and mutations over HTTP
 * (the editor's Headers tab carries the credential), subscriptions over
 * graphql-transport-ws on the same path (graphql-ws's client), whose
 * `connection_init` carries the Authorization (or X-API-Key) header from
 * that same tab. Everything is served from here: no inline script, no CDN;
 * the bundle reads the endpoint from `data-endpoint`.
 */
const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>Stoa GraphiQL</title>
  <link rel="icon" href="data:," />
  <link rel="stylesheet" href="${GRAPHIQL_ASSETS_PREFIX}graphiql.css" />
  <script type="module" src="${GRAPHIQL_ASSETS_PREFIX}graphiql.js"></script>
</head>
<body>
  <div id="graphiql" data-endpoint="/graphql">Loading GraphiQL…</div>
</body>
</html>
`;

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8" /><title>Stoa GraphiQL</title></head>
<body><p>GraphiQL is not built: run <code>npm run build</code>. The API itself answers at <code>/graphql</code>.</p></body>
</html>
`;

/** Serves the bundle under /graphiql/assets/ and answers the page's HTML (a short notice when the bundle is missing). */
export function registerGraphiqlAssets(app: FastifyInstance): string {
  if (!existsSync(`${ASSETS}graphiql.js`)) return NOT_BUILT;
  // Registered, not awaited: Fastify loads it with the other plugins before the server is ready.
  void app.register(fastifyStatic, {
    root: ASSETS,
    prefix: GRAPHIQL_ASSETS_PREFIX,
    decorateReply: false,
    index: false,
    cacheControl: false,
    setHeaders: (res) => res.header('cache-control', 'no-cache'),
  });
  return PAGE;
}
