import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import { AppError } from '../../../domain/shared/errors.ts';
import { API_VERSIONS, chooseVersion, LATEST_VERSION, VENDOR_MEDIA_TYPE, type ApiVersion } from '../../../platform/versioning/index.ts';
import { listTokensFromV1, problemToV1, schemaToV1, toV1, userBodyFromV1, v1Path } from '../v1-transform.ts';
import { headerValue } from '../headers.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The API version this request is served in. */
    apiVersion: ApiVersion;
    /** Set when the client chose the version by vendor media type; responses use it as Content-Type. */
    vendorMediaType: string | undefined;
    /** True for requests to /v1/… and /v2/… (the versioned API). */
    versioned: boolean;
  }
  interface FastifyContextConfig {
    /** v1: the route's body uses the user's `name` (v2 `display_name`). */
    v1UserBody?: boolean;
  }
}

/** Top-level resources reachable without a version in the path (`/users/…`). */
const RESOURCES = ['users', 'me', 'auth', 'api-keys', 'posts', 'comments', 'feed', 'products', 'orders', 'order-items', 'events', 'charges', 'reports', 'jobs', 'webhook-endpoints', 'webhook-deliveries', 'webhooks', 'usage'];
const VERSIONED_PATH = /^\/v(\d+)(?=\/|$)/;
/** Routes (without the version prefix) that list users: v2 renamed their `name` and moved them to cursor pagination. */
const USER_COLLECTIONS = new Set(['/users', '/users/:id/followers', '/users/:id/following']);
const HOP_BY_HOP = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'date', 'content-encoding']);

export interface VersioningOptions {
  publicUrl: string;
  v1DeprecatedAt: Date;
  v1SunsetAt: Date;
  metrics: Registry;
  now: () => Date;
}

/** The route's pattern without its `/vN` prefix (`/users/:id/posts`). */
export function unversionedRoute(request: FastifyRequest): string {
  const url = request.routeOptions.url ?? '';
  return url.replace(VERSIONED_PATH, '');
}

/**
 * How the request's version paginates its list: v1 user collections default
 * to offset pages (`page`, `per_page`, `total_pages`), v2 ones are cursor-only.
 */
export function listVersionRules(request: FastifyRequest): { cursorOnly: boolean; offsetByDefault: boolean } {
  const users = USER_COLLECTIONS.has(unversionedRoute(request));
  return { cursorOnly: users && request.apiVersion === '2', offsetByDefault: users && request.apiVersion === '1' };
}

function appendLink(reply: FastifyReply, links: string[]): void {
  const current = reply.getHeader('link');
  reply.header('link', [...(current ? [String(current)] : []), ...links].join(', '));
}

/**
 * Version selection, deprecation and sunset for the whole HTTP API. Every
 * response says `Stoa-Version`; v1 responses carry Deprecation, Sunset and a
 * successor link, and answer 410 after the sunset date.
 */
export function registerVersioning(app: FastifyInstance, options: VersioningOptions): void {
  app.decorateRequest('apiVersion', LATEST_VERSION);
  app.decorateRequest('vendorMediaType', undefined);
  app.decorateRequest('versioned', false);
  const usage = new Counter({
    name: 'stoa_api_requests_by_version_total',
    help: 'Versioned API requests by version and client (API key id, else user id, else anonymous)',
    labelNames: ['version', 'client'] as const,
    registers: [options.metrics],
  });
  const deprecation = `@${Math.floor(options.v1DeprecatedAt.getTime() / 1000)}`;
  const sunset = options.v1SunsetAt.toUTCString();
  const deprecationDoc = `${options.publicUrl}/versioning`;
  const guide = readFileSync(new URL('../../../../docs/versioning.md', import.meta.url), 'utf8');
  const escaped = guide.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
  app.get('/versioning', { config: { auth: 'none', produces: ['text/html'] }, schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Stoa API versions</title></head><body><pre>${escaped}</pre></body></html>`),
  );

  // Callback-style hooks here and below: a request passes them all, and an async one costs a promise each.
  app.addHook('onRequest', (request, reply, done) => {
    // Even a refused version choice answers with the version that would serve it otherwise.
    reply.header('stoa-version', LATEST_VERSION);
    const path = request.url.split('?')[0] ?? '/';
    const pathVersion = VERSIONED_PATH.exec(path)?.[1];
    const query = request.url.includes('version=') ? (new URL(request.url, 'http://x').searchParams.get('version') ?? undefined) : undefined;
    const accept = headerValue(request, 'accept');
    request.versioned = pathVersion !== undefined;
    let choice;
    if (pathVersion !== undefined) {
      choice = chooseVersion({ path: pathVersion, accept });
      // A vendor media type that disagrees with the path is a request Stoa cannot honour.
      const asked = accept?.split(',').map((r) => VENDOR_MEDIA_TYPE.exec(r.split(';')[0]!.trim())?.[1]).find(Boolean);
      if (asked !== undefined && asked !== pathVersion) {
        throw new AppError('NOT_ACCEPTABLE', `This URL serves version ${pathVersion}; it cannot answer as application/vnd.stoa.v${asked}+json`);
      }
      if (asked !== undefined) choice = { ...choice, mediaType: `application/vnd.stoa.v${asked}+json` };
    } else {
      const resource = path.split('/')[1] ?? '';
      const apiPath = RESOURCES.includes(resource);
      choice = chooseVersion({ accept, header: apiPath ? headerValue(request, 'stoa-version') : undefined, query: apiPath ? query : undefined });
      if (!apiPath) choice = { ...choice, version: choice.source === 'media-type' ? choice.version : LATEST_VERSION };
    }
    request.apiVersion = choice.version;
    request.vendorMediaType = choice.mediaType;
    reply.header('stoa-version', choice.version);
    if (request.versioned && choice.version === '1' && options.now().getTime() >= options.v1SunsetAt.getTime()) {
      const successor = `/v2${path.slice(3)}`;
      reply.header('link', `<${successor}>; rel="successor-version", <${deprecationDoc}>; rel="deprecation"; type="text/html"`).header('sunset', sunset);
      throw new AppError('API_VERSION_SUNSET', `API version 1 was retired on ${sunset}; use version 2 at ${successor}`, {
        extensions: { successor_version: '2', successor: `${options.publicUrl}${successor}`, sunset },
      });
    }
    done();
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    if (request.vendorMediaType && String(reply.getHeader('content-type') ?? '').startsWith('application/json')) {
      reply.header('content-type', request.vendorMediaType);
    }
    if (request.versioned && request.apiVersion === '1' && reply.statusCode !== 410) {
      reply.header('deprecation', deprecation).header('sunset', sunset);
      const path = request.url.split('?')[0] ?? '/';
      appendLink(reply, [`<${`/v2${path.slice(3)}`}>; rel="successor-version"`, `<${deprecationDoc}>; rel="deprecation"; type="text/html"`]);
      const location = reply.getHeader('location');
      if (typeof location === 'string') reply.header('location', v1Path(location));
    }
    done(null, payload);
  });

  app.addHook('onResponse', (request, _reply, done) => {
    if (request.versioned) usage.inc({ version: request.apiVersion, client: request.principal?.apiKeyId ?? request.principal?.userId ?? 'anonymous' });
    done();
  });

  // Unversioned paths are served by the chosen version, in process.
  const forward = async (request: FastifyRequest, reply: FastifyReply) => {
    let version = request.apiVersion;
    const explicit = headerValue(request, 'stoa-version') !== undefined || request.vendorMediaType !== undefined || /[?&]version=/.test(request.url);
    if (!explicit && request.principal?.apiVersion && (API_VERSIONS as readonly string[]).includes(request.principal.apiVersion)) {
      version = request.principal.apiVersion as ApiVersion;
    }
    const url = new URL(request.url, 'http://x');
    url.searchParams.delete('version');
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value === undefined || name === 'accept-encoding' || name === 'content-length' || name === 'host') continue;
      headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    headers['x-request-id'] = request.id;
    const inner = await app.inject({
      method: request.method as 'GET',
      url: `/v${version}${url.pathname}${url.search}`,
      headers,
      // The versioned request keeps the client's address (rate limits by IP, logs).
      ...(request.socket.remoteAddress ? { remoteAddress: request.socket.remoteAddress } : {}),
      ...(request.body === undefined ? {} : { payload: JSON.stringify(request.body) }),
    });
    for (const [name, value] of Object.entries(inner.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) reply.header(name, value);
    }
    request.apiVersion = version;
    return reply.code(inner.statusCode).send(inner.rawPayload);
  };
  for (const resource of RESOURCES) {
    for (const url of [`/${resource}`, `/${resource}/*`]) {
      // Not limited here: the versioned request it becomes is.
      app.all(url, { config: { auth: 'optional', produces: ['application/json', 'text/csv'], rateLimit: false }, schema: { hide: true } }, forward);
    }
  }
}

/**
 * The v1 edge over routes registered in a `/v1` scope: schemas renamed for
 * OpenAPI, validation and serialisation; request bodies and list tokens
 * translated in; responses and problems translated out.
 */
export function registerV1Transformer(scope: FastifyInstance): void {
  scope.addHook('onRoute', (route) => {
    if (!route.schema) return;
    let userBody = false;
    const schema = { ...route.schema } as Record<string, unknown>;
    for (const part of ['body', 'response', 'querystring'] as const) {
      if (schema[part] === undefined) continue;
      const { schema: renamed, renamed: changed } = schemaToV1(schema[part]);
      schema[part] = renamed;
      if (part === 'body' && changed) userBody = true;
    }
    schema.deprecated = true;
    route.schema = schema as typeof route.schema;
    route.config = { ...(route.config as object), v1UserBody: userBody } as typeof route.config;
  });

  // Callback style: every v1 request passes these, and an async hook costs a promise each.
  scope.addHook('preValidation', (request, _reply, done) => {
    const query = request.query as Record<string, unknown> | undefined;
    if (query) {
      const userCollection = USER_COLLECTIONS.has(unversionedRoute(request));
      for (const key of ['sort', 'fields'] as const) {
        if (typeof query[key] === 'string') query[key] = listTokensFromV1(query[key], userCollection);
      }
    }
    done();
  });

  scope.addHook('preHandler', (request, _reply, done) => {
    if (request.routeOptions.config.v1UserBody) request.body = userBodyFromV1(request.body);
    done();
  });

  scope.addHook('preSerialization', (_request, reply, payload, done) => {
    if (payload === null || typeof payload !== 'object') return done(null, payload);
    done(null, reply.statusCode >= 400 ? problemToV1(payload as Record<string, unknown>) : toV1(payload));
  });
}
