import { collectionOf } from '../../test/helpers/api-walk.ts';
import { type Operation, type OpenApiTruth } from '../../test/helpers/openapi-truth.ts';
import { isPublic } from '../../test/helpers/api-walk.ts';
import { ACTOR_OWNER, ACTOR_SCOPES, type Actor, type Owner } from './target.ts';
import { classifyRequest } from './conformance.ts';

/** One way an answer is wrong; `key` groups the same defect seen many times. */
export interface Finding {
  kind: '5xx' | 'document' | 'authorization' | 'scope' | 'leak' | 'state' | 'unrouted' | 'accepted-invalid' | 'rejected-valid' | 'missing-header' | 'response-headers' | 'lifecycle' | 'known';
  key: string;
  message: string;
}

export interface Exchange {
  truth: OpenApiTruth;
  op: Operation;
  actor: Actor;
  pathOwner: Owner | undefined;
  method: string;
  url: string;
  status: number;
  contentType: string | undefined;
  body: string;
  /** The request's headers, when known. */
  sentHeaders?: Record<string, string>;
  /** The body text sent, if any (judged with `sentHeaders`). */
  sentPayload?: string;
  /** Request headers whose value depends on earlier requests (a fixed Idempotency-Key, a made-up If-Match). */
  stateful?: string[];
  /** The Allow header, if any. */
  allow?: string;
  /** The response's headers, when known. */
  headers?: Record<string, string | string[] | undefined>;
  /** Private ids of each user, for spotting one user's data in another's answer. */
  privateIds: Record<Owner, string[]>;
  /** The JSON body sent, when one was (parsed back from the wire text). */
  sentJson?: { value: unknown };
  /** State digests around a write, when taken. */
  before?: Record<string, string>;
  after?: Record<string, string>;
}

/** Operations on another user's resource that are allowed to succeed: public reads, following, commenting. */
const ACROSS_USERS = new Set([
  'GET /posts/{id}',
  'GET /posts/{id}/comments',
  'POST /posts/{id}/comments',
  'GET /comments/{id}',
  'GET /products/{id}',
  'GET /users/{id}',
  'GET /users/{id}/posts',
  'GET /users/{id}/followers',
  'GET /users/{id}/following',
  'GET /users/{id}/avatar',
  'PUT /users/{id}/followers/me',
  'DELETE /users/{id}/followers/me',
]);

/** The scope an operation needs from an API key, where the collection decides it. */
function scopeFor(method: string, template: string): string | undefined {
  const path = template.replace(/^\/v\d+/, '');
  const write = method !== 'GET';
  if (/^\/users\/\{id\}\/(orders)$/.test(path)) return 'orders:read';
  if (/^\/users\/\{id\}\/posts$/.test(path) || path === '/feed') return 'posts:read';
  const byCollection: Record<string, string> = {
    posts: 'posts',
    comments: 'posts',
    orders: 'orders',
    'order-items': 'orders',
    charges: 'charges',
    'webhook-endpoints': 'webhooks',
    'webhook-deliveries': 'webhooks',
  };
  const family = byCollection[collectionOf(template)];
  if (family) return `${family}:${write ? 'write' : 'read'}`;
  if (collectionOf(template) === 'products' && write) return 'products:write';
  return undefined;
}

/**
 * Refusals of requests that fit the document which Schemathesis's
 * positive_data_acceptance would report, though no document could prevent
 * them: they hang on state or the world, not on the request's shape. They are
 * counted as `known`, never as findings; each problem `errors[].code` names one.
 */
export const STATE_REFUSALS: Record<string, string> = {
  not_found: 'a reference (product_id, order_id) to something that does not exist',
  in_past: 'an expiry that is already past',
  invalid_range: 'a start after its end in a body, or a usage range the service refuses: JSON Schema cannot relate two fields',
  out_of_range: 'a usage span longer than the granularity allows',
  forbidden_address: 'a webhook URL that resolves to a non-public address',
  unresolvable: 'a webhook URL whose host does not resolve',
  invalid_token: 'an email-verification token that was never sent',
};

function stateRefusal(body: string): string | undefined {
  try {
    const errors = (JSON.parse(body) as { errors?: Array<{ code?: string; message?: string }> }).errors ?? [];
    // The URL guard (a host that does not resolve) and email verification (a token never sent) say so with the generic
    // invalid_value: their messages tell.
    const codes = errors.map((e) =>
      /^cannot resolve |has no address$/.test(e.message ?? '') ? 'unresolvable' : /wrong, expired or already used/.test(e.message ?? '') ? 'invalid_token' : (e.code ?? ''),
    );
    return codes.length > 0 && codes.every((c) => c in STATE_REFUSALS) ? [...new Set(codes)].join(',') : undefined;
  } catch {
    return undefined;
  }
}

/** Statuses Schemathesis accepts for a request that fits the document (positive_data_acceptance). */
const POSITIVE_STATUSES = new Set([401, 403, 404, 409]);
/** ... and for one that breaks it (negative_data_rejection); 413, 414 and 431 added for sizes it never sends. */
const NEGATIVE_STATUSES = new Set([400, 401, 403, 404, 405, 406, 409, 413, 414, 422, 428, 431]);
/** ... and for one that leaves out a required header (missing_required_header). */
const MISSING_HEADER_STATUSES = new Set([400, 401, 403, 406, 422]);
/** Actors presenting no credential, or one the server never issued (ignored_auth). */
const UNAUTHENTICATED: readonly Actor[] = ['anonymous', 'forged-token', 'forged-key'];

function documentCategory(problem: string): string {
  if (/status \d+ is not documented/.test(problem)) return 'undocumented status';
  if (/media type/.test(problem)) return 'undocumented media type';
  if (/breaks the documented schema/.test(problem)) return 'body breaks schema';
  if (/not JSON/.test(problem)) return 'body not JSON';
  if (/no body|declares no body/.test(problem)) return 'unexpected body';
  return 'other';
}

/** Every property the exchange breaks. */
export function judge(x: Exchange): Finding[] {
  const out: Finding[] = [];
  const template = x.truth.templateOf(x.method, x.url);
  const pathTemplate = x.truth.templateOf(x.op.method, x.url);
  if (x.method === 'OPTIONS' && !template) {
    // allow_header_conformance: an OPTIONS answer's Allow lists exactly the documented methods (HEAD and OPTIONS aside).
    const path = x.truth.pathTemplateOf(x.url);
    if (path && x.allow) {
      const advertised = new Set(x.allow.split(',').map((m) => m.trim().toUpperCase()).filter((m) => m && m !== 'HEAD' && m !== 'OPTIONS'));
      const documented = new Set(x.truth.methodsOf(path));
      const differ = [...advertised].some((m) => !documented.has(m)) || [...documented].some((m) => !advertised.has(m));
      if (differ) return [{ kind: 'unrouted', key: `allow OPTIONS ${path}`, message: `OPTIONS ${path} answered Allow: ${x.allow}; the document has ${[...documented].join(', ')}` }];
    }
    return [];
  }
  if (!template && pathTemplate && x.method !== 'HEAD' && x.method !== 'OPTIONS') {
    // unsupported_method: a documented path, a method it does not document: 405 with Allow (a 404 where the path names
    // a resource that may not exist). With a body, a refusal of the body (413, 415) may come first.
    const allowed = x.status === 405 ? (x.allow ?? '') : undefined;
    const problem = /^application\/problem\+json/.test(x.contentType ?? '');
    // Schemathesis sends these with no body, its own Accept, a valid id and no bad credential: hold such requests to it.
    const accept = Object.entries(x.sentHeaders ?? {}).find(([k]) => k.toLowerCase() === 'accept')?.[1];
    const decodable = (() => {
      try {
        return !decodeURIComponent(x.url).includes('\u0000');
      } catch {
        return false;
      }
    })();
    const contentType = Object.keys(x.sentHeaders ?? {}).some((k) => k.toLowerCase() === 'content-type');
    // ... and with path ids that fit the path's documented parameters (a 3,000-character id is refused before routing).
    const documentedMethod = x.truth.methodsOf(pathTemplate)[0];
    const pathFits =
      documentedMethod !== undefined &&
      !classifyRequest(x.truth, { method: documentedMethod, url: x.url.split('?')[0]!, headers: {}, payload: undefined }).reasons.some((r) => r.startsWith('path '));
    const strict = pathFits && x.url.length < 8_000 && (x.sentPayload === undefined || x.sentPayload === '') && !contentType && (accept === undefined || accept === '*/*' || accept === 'application/json') && decodable && !(x.status === 401 && x.actor !== 'anonymous');
    const fine = strict
      ? problem && ((x.status === 405 && allowed !== '') || (x.status === 404 && pathTemplate.includes('{')))
      : x.status < 500 && x.status >= 400 && problem && (allowed === undefined || allowed !== '');
    if (!fine) return [{ kind: 'unrouted', key: `method ${x.method} ${pathTemplate} ${x.status}`, message: `${x.method} on ${pathTemplate} (not documented) answered ${x.status} ${x.contentType ?? ''}${x.status === 405 ? ` Allow: ${x.allow ?? '(none)'}` : ''}: ${x.body.slice(0, 200)}` }];
    return [];
  }
  const op = `${x.method} ${template ?? x.op.path}`;
  const ok = x.status >= 200 && x.status < 300;
  if (x.status >= 500) out.push({ kind: '5xx', key: `5xx ${op} ${x.status}`, message: `${op} answered ${x.status}: ${x.body.slice(0, 300)}` });

  if (template) {
    for (const problem of x.truth.check({ method: x.method, url: x.url, status: x.status, contentType: x.contentType, body: x.body })) {
      out.push({ kind: 'document', key: `document ${problem.split(': ')[0]} ${documentCategory(problem)}`, message: problem });
    }
  } else if (x.status >= 400 && !/^application\/problem\+json/.test(x.contentType ?? '')) {
    // A path outside the document (a hostile id split the path): a refusal must still be a problem document.
    out.push({ kind: 'unrouted', key: `unrouted ${x.method} ${x.op.path} ${x.status} ${(x.contentType ?? '').split(';')[0]}`, message: `${x.method} ${x.url.slice(0, 200)} answered ${x.status} ${x.contentType ?? ''}: ${x.body.slice(0, 200)}` });
  }

  const owner = ACTOR_OWNER[x.actor];
  const unversioned = `${x.method} ${x.op.path.replace(/^\/v\d+/, '')}`;
  // The operation that answered: a case may send another documented method than the operation it was drawn for.
  const answered = template ? { method: x.method, path: template, operation: x.truth.doc.paths[template]![x.method.toLowerCase()]! } : x.op;
  if (ok && template && UNAUTHENTICATED.includes(x.actor) && !isPublic(answered)) {
    out.push({ kind: 'authorization', key: `authorization ${op} ${x.actor}`, message: `${op} succeeded (${x.status}) for ${x.actor} though it requires a credential` });
  }
  if (ok && template && owner && x.pathOwner && x.pathOwner !== owner && !ACROSS_USERS.has(unversioned)) {
    out.push({ kind: 'authorization', key: `authorization ${op} on another user's resource`, message: `${op} by ${x.actor} on ${x.pathOwner.toUpperCase()}'s resource succeeded (${x.status}): ${x.body.slice(0, 200)}` });
  }
  if (ok && template && owner && collectionOf(x.op.path) === 'products' && x.method !== 'GET') {
    out.push({ kind: 'authorization', key: `authorization ${op} by a non-administrator`, message: `${op} by ${x.actor} succeeded (${x.status})` });
  }
  const scopes = ACTOR_SCOPES[x.actor];
  const needed = template ? scopeFor(x.method, template) : undefined;
  if (ok && scopes && needed && !scopes.includes(needed)) {
    out.push({ kind: 'scope', key: `scope ${op} without ${needed}`, message: `${op} succeeded (${x.status}) for a key with scopes [${scopes.join(' ')}], lacking ${needed}` });
  }
  if (ok && x.actor !== 'admin') {
    const others: Owner[] = owner ? [owner === 'a' ? 'b' : 'a'] : ['a', 'b'];
    const leaked = others.flatMap((o) => x.privateIds[o]).filter((id) => x.body.includes(id));
    if (leaked.length) out.push({ kind: 'leak', key: `leak ${op} ${x.actor}`, message: `${op} by ${x.actor} answered another user's private ids ${leaked.join(', ')}` });
  }
  if (ok && template) {
    const sent = new Set(Object.keys(x.sentHeaders ?? {}).map((h) => h.toLowerCase()));
    const missing = (x.op.operation.parameters ?? []).filter((p) => p.in === 'header' && p.required && !sent.has(p.name.toLowerCase())).map((p) => p.name);
    if (x.sentHeaders && missing.length) out.push({ kind: 'accepted-invalid', key: `accepted-invalid ${op} without ${missing.join(',')}`, message: `${op} succeeded (${x.status}) without the required header ${missing.join(', ')}` });
  }
  if (ok && template && x.sentJson) {
    const errors = x.truth.requestBodyErrors(template, x.method, x.sentJson.value);
    if (errors?.length) out.push({ kind: 'accepted-invalid', key: `accepted-invalid ${op} ${errors[0]!.replace(/\/\d+/g, '/n')}`, message: `${op} accepted (${x.status}) a body its documented schema refuses: ${errors.join('; ')}` });
  }
  if (template && x.sentHeaders && x.status < 500) {
    const verdict = classifyRequest(x.truth, { method: x.method, url: x.url, headers: x.sentHeaders, payload: x.sentPayload, ...(x.stateful ? { stateful: x.stateful } : {}) });
    const why = verdict.reasons.slice(0, 3).join('; ');
    const state = verdict.kind === 'positive' && !ok && !POSITIVE_STATUSES.has(x.status) ? stateRefusal(x.body) : undefined;
    if (state) {
      out.push({ kind: 'known', key: `known ${op} ${x.status} ${state}`, message: `${op} refused (${x.status}, ${state}) a request that fits the document: ${state.split(',').map((c) => STATE_REFUSALS[c]).join('; ')}` });
    } else if (verdict.kind === 'positive' && !ok && !POSITIVE_STATUSES.has(x.status)) {
      out.push({ kind: 'rejected-valid', key: `rejected-valid ${op} ${x.status}`, message: `${op} refused (${x.status}) a request that fits the document (positive_data_acceptance): ${x.body.slice(0, 300)}` });
    }
    const onlyHeadersMissing = verdict.missingHeaders.length > 0 && verdict.reasons.every((r) => / is required$/.test(r) && r.startsWith('header '));
    if (verdict.kind === 'negative' && onlyHeadersMissing && !MISSING_HEADER_STATUSES.has(x.status) && !ok) {
      out.push({ kind: 'missing-header', key: `missing-header ${op} ${x.status}`, message: `${op} answered ${x.status} without the required header ${verdict.missingHeaders.join(', ')} (missing_required_header expects 400, 401, 403, 406 or 422)` });
    } else if (verdict.kind === 'negative' && (x.status < 400 || !NEGATIVE_STATUSES.has(x.status)) && !out.some((f) => f.kind === 'accepted-invalid')) {
      const first = (verdict.reasons[0] ?? '').replace(/\/\d+/g, '/n').replace(/ (query|header|path) (\S+).*/, ' $1 $2');
      out.push({ kind: 'accepted-invalid', key: `accepted-invalid ${op} ${x.status} ${first}`, message: `${op} answered ${x.status} to a request that breaks the document (negative_data_rejection): ${why}` });
    }
    if (verdict.kind === 'positive' && UNAUTHENTICATED.includes(x.actor) && !isPublic(answered) && x.status !== 401) {
      out.push({ kind: 'authorization', key: `ignored-auth ${op} ${x.actor} ${x.status}`, message: `${op} answered ${x.status}, not 401, to ${x.actor} though it requires a credential (ignored_auth)` });
    }
  }
  if (template && x.headers) {
    // response_headers_conformance: every documented required header present, every documented one fits its schema.
    for (const h of x.truth.responseHeadersOf(template, x.method, x.status)) {
      const raw = x.headers[h.name.toLowerCase()];
      const value = Array.isArray(raw) ? raw[0] : raw;
      if (value === undefined) {
        if (h.required) out.push({ kind: 'response-headers', key: `response-headers ${op} ${x.status} missing ${h.name}`, message: `${op} answered ${x.status} without its documented required header ${h.name}` });
        continue;
      }
      const schema = h.schemaAt?.reduce<unknown>((n, k) => (n as Record<string, unknown> | undefined)?.[k], x.truth.doc) as { type?: string } | undefined;
      const coerced = schema?.type === 'integer' || schema?.type === 'number' ? (/^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value) : value;
      const errors = h.schemaAt ? x.truth.schemaErrors(h.schemaAt, coerced) : [];
      if (errors.length) out.push({ kind: 'response-headers', key: `response-headers ${op} ${x.status} ${h.name}`, message: `${op} answered ${x.status} with ${h.name}: ${value.slice(0, 100)}, which breaks its documented schema: ${errors.join('; ')}` });
    }
  }
  if (x.status >= 400 && x.status < 500 && x.before && x.after) {
    const changed = Object.keys(x.before).filter((t) => x.before![t] !== x.after![t]);
    if (changed.length) out.push({ kind: 'state', key: `state ${op} ${x.status} changed ${changed.join(',')}`, message: `${op} was refused with ${x.status} yet changed ${changed.join(', ')}` });
  }
  return out;
}

/** What a GET of a resource answered right after it was created (201) or deleted (2xx DELETE). */
export function judgeAftermath(kind: 'created' | 'deleted', op: string, url: string, status: number): Finding[] {
  if (kind === 'created' && status !== 200) return [{ kind: 'lifecycle', key: `lifecycle ${op} created then ${status}`, message: `${op} created ${url}, whose GET then answered ${status}` }];
  if (kind === 'deleted' && status >= 200 && status < 300) return [{ kind: 'lifecycle', key: `lifecycle ${op} deleted then ${status}`, message: `${op} deleted ${url}, whose GET then answered ${status}` }];
  return [];
}
