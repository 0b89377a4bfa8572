import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { API_VERSIONS, LATEST_VERSION, type ApiVersion } from '../../../platform/versioning/index.ts';
import { problemResponses } from '../schemas/common.ts';
import { V1_ONLY } from '../list-query.ts';
import { DOCUMENTED } from '../../../domain/shared/validation.ts';

export const API_TAGS = [
  { name: 'auth', description: 'Sign-in, token refresh and logout, the caller, the JWKS.' },
  { name: 'users', description: 'Sign-up, profiles and account management.' },
  { name: 'api-keys', description: 'API keys for servers: scoped, revocable, shown once.' },
  { name: 'posts', description: 'Posts, comments and the feed.' },
  { name: 'social', description: 'Follows: followers and following.' },
  { name: 'catalogue', description: 'The public product catalogue.' },
  { name: 'orders', description: 'Orders and order items.' },
  { name: 'events', description: 'The event log: every state change clients may hear about.' },
  { name: 'charges', description: 'Payments: charges confirmed asynchronously by the payment processor.' },
  { name: 'webhooks', description: 'Webhooks signed with Standard Webhooks: outbound endpoints, their secrets and delivery log (docs/webhooks.md), and the inbound payment-processor webhook.' },
  { name: 'jobs', description: 'Long-running jobs and the reports they compute: 202, a job to poll, a signed callback.' },
  { name: 'operations', description: 'Health, readiness and metrics.' },
  { name: 'usage', description: "Request counts over time: the caller's own traffic by status class, API version or API key (administrators: anyone's)." },
];

// Where swagger-ui's assets are, and its logo, given rather than left to the plugin: it would find them beside its
// own code (which the bundle moves), and its asynchronous read of the logo waited ~0.1 s of a warm start.
const SWAGGER_UI_ASSETS = path.dirname(createRequire(import.meta.url).resolve('@fastify/swagger-ui/static/logo.svg'));
const SWAGGER_UI_LOGO = { type: 'image/svg+xml', content: readFileSync(path.join(SWAGGER_UI_ASSETS, 'logo.svg')) };

/** OpenAPI 3.1 generated from the route schemas, served at /openapi.json, with an interactive reference at /docs. */
export async function registerOpenApi(app: FastifyInstance, options: { publicUrl: string; version: string }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Stoa API',
        version: options.version,
        description: 'A small social marketplace over REST. Errors are RFC 9457 problem documents; see /problems/{code}.',
        license: { name: 'MIT', identifier: 'MIT' },
        contact: { name: 'Stoa maintainers', url: options.publicUrl },
      },
      servers: [{ url: options.publicUrl, description: 'This deployment' }],
      tags: API_TAGS,
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from POST /v1/auth/login, or an API key.' },
          apiKeyAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'sk_…', description: 'An API key as a bearer token.' },
          apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key in the X-API-Key header.' },
        },
      },
    },
    transformObject: (documents) => {
      if ('openapiObject' in documents) {
        optionalBodies(documents.openapiObject as unknown as OpenApiDocument);
        connectionProblems(documents.openapiObject as unknown as OpenApiDocument);
        vendorMediaTypes(documents.openapiObject as unknown as OpenApiDocument);
        urlParameters(documents.openapiObject as unknown as OpenApiDocument);
        bodyStrings(documents.openapiObject as unknown as OpenApiDocument);
        responseHeaders(documents.openapiObject as unknown as OpenApiDocument);
      }
      return 'openapiObject' in documents ? documents.openapiObject : documents.swaggerObject;
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true }, staticCSP: true, baseDir: SWAGGER_UI_ASSETS, logo: SWAGGER_UI_LOGO });

  const documents = new Map<string, unknown>();
  const documentFor = (version: ApiVersion) => {
    let doc = documents.get(version);
    if (!doc) documents.set(version, (doc = versionDocument(app.swagger() as unknown as OpenApiDocument, version)));
    return doc;
  };
  app.get('/openapi.json', { config: { auth: 'none' }, schema: { hide: true } }, async () => documentFor(LATEST_VERSION));
  for (const version of API_VERSIONS) {
    app.get(`/v${version}/openapi.json`, { config: { auth: 'none', rateLimit: false }, schema: { hide: true } }, async () => documentFor(version));
  }
}

/** The schema extension by which a route says its body may be left out (Fastify itself then needs `{}` at least, via a hook). */
export const OPTIONAL_BODY = 'x-optional-body';

/** @fastify/swagger marks every request body required; routes marked OPTIONAL_BODY get `required: false`. */
function optionalBodies(doc: OpenApiDocument): void {
  for (const item of Object.values(doc.paths)) {
    for (const operation of Object.values(item)) {
      if (operation[OPTIONAL_BODY] !== true) continue;
      delete operation[OPTIONAL_BODY];
      if (operation.requestBody) (operation.requestBody as { required: boolean }).required = false;
    }
  }
}

/**
 * Answers the HTTP parser gives before any route is known (a head over 16 KiB,
 * a request not received in time), so every operation may receive them.
 */
function connectionProblems(doc: OpenApiDocument): void {
  const answers: Record<string, unknown> = {};
  for (const [status, answer] of Object.entries(problemResponses(408, 431))) {
    if (status !== '500') answers[status] = { ...(answer as object), content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
  }
  for (const item of Object.values(doc.paths)) {
    for (const operation of Object.values(item)) {
      const responses = operation.responses as Record<string, unknown> | undefined;
      if (!responses) continue;
      for (const [status, answer] of Object.entries(answers)) responses[status] ??= answer;
    }
  }
}

/**
 * A client that asks for `application/vnd.stoa.vN+json` (one way of choosing
 * the version) gets its JSON under that media type: each versioned JSON
 * answer says so beside `application/json`.
 */
function vendorMediaTypes(doc: OpenApiDocument): void {
  for (const [path, item] of Object.entries(doc.paths)) {
    const version = /^\/v(\d+)\//.exec(path)?.[1];
    if (!version) continue;
    for (const operation of Object.values(item)) {
      for (const response of Object.values((operation.responses ?? {}) as Record<string, { content?: Record<string, unknown> }>)) {
        const json = response.content?.['application/json'];
        if (json) response.content![`application/vnd.stoa.v${version}+json`] ??= json;
      }
    }
  }
}

/** A pattern refusing NUL, which no URL may carry (request-context answers %00 with 400 before any route). */
export const NO_NUL = '^[^\\u0000]*$';

/**
 * Parameters as each version's server takes them: `page`/`per_page` marked
 * V1_ONLY leave the other versions' operations, and a free string in the path,
 * query or a header says it holds no NUL.
 */
function urlParameters(doc: OpenApiDocument): void {
  for (const [path, item] of Object.entries(doc.paths)) {
    const version = /^\/v(\d+)\//.exec(path)?.[1];
    for (const operation of Object.values(item)) {
      const parameters = operation.parameters as Array<{ in: string; schema?: Record<string, unknown> }> | undefined;
      if (!Array.isArray(parameters)) continue;
      operation.parameters = parameters
        .filter((p) => p.schema?.[V1_ONLY] !== true || version === '1')
        .map((p) => {
          if (!p.schema) return p;
          const { [V1_ONLY]: _marker, ...schema } = p.schema;
          const free = schema.type === 'string' && schema.pattern === undefined && schema.enum === undefined && schema.format === undefined;
          return { ...p, schema: free ? { ...schema, pattern: NO_NUL } : schema };
        });
    }
  }
}

/**
 * Schemas as the server takes them: what the domain checks beyond a schema
 * (DOCUMENTED) is merged in, a string in a request body says it holds no NUL
 * (the JSON body parser refuses it), and `\\d` is spelled `[0-9]` (Python's
 * regular expressions, which Schemathesis generates from, take any Unicode digit).
 */
function bodyStrings(doc: OpenApiDocument): void {
  const walk = (node: unknown, inBody: boolean): void => {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, inBody));
    if (node === null || typeof node !== 'object') return;
    const schema = node as Record<string, unknown>;
    if (schema[DOCUMENTED] && typeof schema[DOCUMENTED] === 'object') Object.assign(schema, schema[DOCUMENTED]);
    delete schema[DOCUMENTED];
    if (typeof schema.pattern === 'string') schema.pattern = schema.pattern.replaceAll('\\d', '[0-9]');
    if (inBody && schema.type === 'string' && schema.pattern === undefined && schema.enum === undefined && schema.const === undefined && schema.format === undefined) {
      schema.pattern = NO_NUL;
    }
    for (const [key, child] of Object.entries(schema)) walk(child, inBody || key === 'requestBody');
  };
  walk(doc.paths, false);
  walk(doc.components, false);
}

const HEADER = (description: string, required: boolean, schema: Record<string, unknown> = { type: 'string' }) => ({ description, required, schema });
const RATE_LIMIT_HEADER = HEADER('Rate limiting (docs/rate-limiting.md), where a policy applies.', false);
/** The response headers, each once under components/headers; responses refer to them. */
const HEADERS: Record<string, ReturnType<typeof HEADER>> = {
  'X-Request-Id': HEADER('The request id (echoed when the request gave a well-formed one).', true),
  // Not required: a URL refused before routing (400) has no version yet, and a 406 names the version asked for.
  'Stoa-Version': HEADER('The API version that answered.', false, { type: 'string', pattern: '^[0-9]+$' }),
  Location: HEADER('The created resource (its links.self).', true, { type: 'string', format: 'uri-reference' }),
  ETag: HEADER("The representation's entity tag, for If-None-Match.", true, { type: 'string', pattern: '^(W/)?"[^"]*"$' }),
  Link: HEADER('RFC 8288 links to the first, previous, next and last pages, as far as they exist.', false),
  'RateLimit-Policy': RATE_LIMIT_HEADER,
  RateLimit: RATE_LIMIT_HEADER,
  'X-RateLimit-Limit': RATE_LIMIT_HEADER,
  'X-RateLimit-Remaining': RATE_LIMIT_HEADER,
  'X-RateLimit-Reset': RATE_LIMIT_HEADER,
};
const RATE_LIMIT_NAMES = ['RateLimit-Policy', 'RateLimit', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'];
/** Answers the HTTP parser gives before any route runs: they carry none of the route's headers. */
const BEFORE_ROUTING = new Set(['408', '431']);

/**
 * The headers answers carry, stated so clients (and Schemathesis's
 * response_headers_conformance) can rely on them: the request id on every
 * routed answer, the version under /vN; Location on a 201 of a resource; an ETag on a
 * 200 that may also be a 304 (a conditional GET); Link on lists and the
 * rate-limit fields, when sent. Each is described once, in components/headers.
 */
function responseHeaders(doc: OpenApiDocument): void {
  const components = ((doc.components as Record<string, unknown> | undefined) ??= {}) as Record<string, Record<string, unknown>>;
  components.headers = { ...(components.headers ?? {}), ...HEADERS };
  const ref = (name: string) => ({ $ref: `#/components/headers/${name}` });
  for (const [path, item] of Object.entries(doc.paths)) {
    const version = /^\/v(\d+)\//.exec(path)?.[1];
    for (const [method, operation] of Object.entries(item)) {
      const responses = operation.responses as Record<string, { headers?: Record<string, unknown> }> | undefined;
      if (!responses) continue;
      for (const [status, response] of Object.entries(responses)) {
        if (BEFORE_ROUTING.has(status)) continue;
        const names = ['X-Request-Id'];
        if (version) names.push('Stoa-Version');
        if (status === '201' && JSON.stringify(response).includes('"self"')) names.push('Location');
        if (status === '200' && method === 'get' && '304' in responses) names.push('ETag');
        if (status === '200' && method === 'get' && '304' in responses && (operation.parameters as Array<{ name: string }> | undefined)?.some((p) => p.name === 'cursor')) names.push('Link');
        if (version) names.push(...RATE_LIMIT_NAMES);
        const headers = Object.fromEntries(names.map((name) => [name, ref(name)]));
        // A new object: response objects may be shared between operations (and versions). A $ref is left as it is.
        if (!('$ref' in response)) responses[status] = { ...response, headers: { ...headers, ...(response.headers ?? {}) } };
      }
    }
  }
}

interface OpenApiDocument {
  info: Record<string, unknown>;
  paths: Record<string, Record<string, Record<string, unknown>>>;
  [key: string]: unknown;
}

/**
 * One version's document: its own paths plus the unversioned ones (health,
 * JWKS), each operationId unique within it. Deprecated versions say so.
 */
export function versionDocument(full: OpenApiDocument, version: ApiVersion): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const [path, item] of Object.entries(full.paths)) {
    const pathVersion = /^\/v(\d+)\//.exec(path)?.[1];
    if (pathVersion === undefined || pathVersion === version) paths[path] = item;
  }
  const deprecated = version !== LATEST_VERSION;
  return {
    ...full,
    info: {
      ...full.info,
      title: `Stoa API v${version}`,
      description: `${String(full.info.description ?? '')}${deprecated ? ` Version ${version} is deprecated: see the Deprecation and Sunset headers and migrate to v${LATEST_VERSION}.` : ''}`,
    },
    paths,
  };
}
