import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

const PAGE = new URL('../../../web/dashboard/index.html', import.meta.url);
const ASSETS = fileURLToPath(new URL('../../../dist/dashboard/', import.meta.url));

/**
 * `/dashboard`: the developer dashboard (docs/dashboard.md). One HTML page
 * and the bundle `npm install` builds (dist/dashboard: Lit, uPlot and the
 * page's modules), all served from here under the default CSP — no inline
 * script, nothing from another origin. The page talks to the public API.
 */
export async function registerDashboard(app: FastifyInstance): Promise<void> {
  const built = existsSync(`${ASSETS}app.js`);
  const page = built
    ? readFileSync(PAGE, 'utf8')
    : '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Stoa dashboard</title></head><body><p>The dashboard is not built: run <code>npm run build</code>.</p></body></html>';
  const servePage = { config: { auth: 'none' as const, produces: ['text/html'], rateLimit: false as const }, schema: { hide: true } };
  app.get('/dashboard', servePage, async (_request, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(page));
  app.get('/dashboard/', servePage, async (_request, reply) => reply.redirect('/dashboard', 301));
  if (!built) return;
  await app.register(fastifyStatic, {
    root: ASSETS,
    prefix: '/dashboard/assets/',
    decorateReply: false,
    index: false,
    cacheControl: false,
    setHeaders: (res) => res.header('cache-control', 'no-cache'),
  });
}
