import type { OpenApiTruth } from '../../test/helpers/openapi-truth.ts';

/**
 * Whether a request fits the operation's documented request, the way
 * Schemathesis sorts its cases: `positive` when every part (path, query,
 * headers, body) satisfies the document, `negative` when some documented part
 * breaks it, `neither` when it goes outside what the document speaks about
 * (undocumented parameters, media types or `Accept`, a parameter sent twice, a
 * reused Idempotency-Key or stale If-Match, whose answer depends on state).
 */
export interface RequestVerdict {
  kind: 'positive' | 'negative' | 'neither';
  /** How the request breaks the document (negative), or why it is outside it (neither). */
  reasons: string[];
  /** Required headers the request left out. */
  missingHeaders: string[];
}

export interface SentRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** The body text, when one was sent. */
  payload: string | undefined;
  /** Headers whose value depends on earlier requests (a fixed Idempotency-Key, a made-up If-Match). */
  stateful?: string[];
}

/** A query or path value as the schema's type reads it (Schemathesis coerces the same way). */
function coerce(raw: string, schema: Record<string, unknown> | undefined): unknown {
  const types = Array.isArray(schema?.type) ? (schema.type as string[]) : [schema?.type as string | undefined];
  if ((types.includes('integer') || types.includes('number')) && /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(raw)) return Number(raw);
  if (types.includes('boolean') && (raw === 'true' || raw === 'false')) return raw === 'true';
  return raw;
}

/** Query parameters whose values only the server makes (a page's cursor): any other value is its own business. */
const MINTED = new Set(['cursor']);

/** A percent-encoded part as text (`+` a space in a query); undefined when the bytes are no UTF-8. */
function decode(raw: string, query = false): string | undefined {
  try {
    return decodeURIComponent(query ? raw.replace(/\+/g, ' ') : raw);
  } catch {
    return undefined;
  }
}

/** Splits a raw query string into decoded pairs; `undefined` where a part does not percent-decode. */
function queryPairs(url: string): Array<[string, string | undefined]> {
  const q = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  return q
    .split('&')
    .filter(Boolean)
    .map((part) => {
      const eq = part.indexOf('=');
      const [k, v] = eq === -1 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
      return [decode(k, true) ?? k, decode(v, true)];
    });
}

export function classifyRequest(truth: OpenApiTruth, sent: SentRequest): RequestVerdict {
  const template = truth.templateOf(sent.method, sent.url);
  if (!template) return { kind: 'neither', reasons: ['no documented operation'], missingHeaders: [] };
  const negative: string[] = [];
  const outside: string[] = [];
  const params = truth.parametersOf(template, sent.method);
  const schemaOf = (p: { schemaAt: string[] }) => p.schemaAt.reduce<unknown>((n, k) => (n as Record<string, unknown> | undefined)?.[k], truth.doc) as Record<string, unknown> | undefined;

  // Path: each {param} segment, percent-decoded, against its schema.
  const names = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const templateSegments = template.split('/');
  const segments = sent.url.split('?')[0]!.split('/');
  for (const name of names) {
    const raw = segments[templateSegments.indexOf(`{${name}}`)];
    const value = raw === undefined ? undefined : decode(raw);
    const p = params.find((x) => x.in === 'path' && x.name === name);
    // Bytes that are no UTF-8 text are no string a schema speaks of (Schemathesis cannot send them).
    if (value === undefined) outside.push(`path ${name} does not percent-decode`);
    else if (p) negative.push(...truth.schemaErrors(p.schemaAt, coerce(value, schemaOf(p))).map((e) => `path ${name}${e}`));
  }

  // Query: documented parameters against their schemas; anything else is outside the document.
  const pairs = queryPairs(sent.url);
  const counts = new Map<string, number>();
  for (const [k] of pairs) counts.set(k, (counts.get(k) ?? 0) + 1);
  for (const [k, v] of pairs) {
    const p = params.find((x) => x.in === 'query' && x.name === k);
    if (!p) outside.push(`undocumented query parameter ${k.slice(0, 40)}`);
    else if (MINTED.has(k)) outside.push(`${k} is minted by the server (an earlier page)`);
    else if ((counts.get(k) ?? 0) > 1) outside.push(`query parameter ${k} sent twice`);
    else if (v === undefined) outside.push(`query ${k} does not percent-decode`);
    else negative.push(...truth.schemaErrors(p.schemaAt, coerce(v, schemaOf(p))).map((e) => `query ${k}${e}`));
  }
  for (const p of params.filter((x) => x.in === 'query' && x.required && !counts.has(x.name))) negative.push(`query ${p.name} is required`);

  // Headers: documented ones against their schemas; required ones present.
  const sentHeaders = new Map(Object.entries(sent.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const missingHeaders: string[] = [];
  for (const p of params.filter((x) => x.in === 'header')) {
    const value = sentHeaders.get(p.name.toLowerCase());
    if (value === undefined) {
      if (p.required) missingHeaders.push(p.name);
    } else negative.push(...truth.schemaErrors(p.schemaAt, coerce(value, schemaOf(p))).map((e) => `header ${p.name}${e}`));
  }
  for (const name of sent.stateful ?? []) if (sentHeaders.has(name)) outside.push(`${name} depends on earlier requests`);
  const accept = sentHeaders.get('accept');
  const produces = Object.entries(truth.doc.paths[template]![sent.method.toLowerCase()]!.responses)
    .filter(([status]) => status.startsWith('2'))
    .flatMap(([, r]) => Object.keys(r.content ?? {}));
  if (accept !== undefined && accept !== '*/*' && !produces.includes(accept)) outside.push(`Accept: ${accept}`);

  // Body: a documented media type, its JSON against the schema; a required body present.
  const operation = truth.doc.paths[template]![sent.method.toLowerCase()]!;
  const documented = operation.requestBody?.content ?? {};
  const contentType = (sentHeaders.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (sent.payload === undefined || sent.payload === '') {
    if (sentHeaders.has('content-type')) outside.push('a Content-Type without a body');
    else if (operation.requestBody?.required) negative.push('the required body is missing');
  } else if (!(contentType in documented)) outside.push(`a body of undocumented media type ${contentType || '(none)'}`);
  else if (contentType === 'application/json') {
    let value: unknown;
    try {
      value = JSON.parse(sent.payload);
    } catch {
      outside.push('a body that is not JSON');
    }
    if (value !== undefined) negative.push(...(truth.requestBodyErrors(template, sent.method, value) ?? []).map((e) => `body${e}`));
  }

  if (missingHeaders.length) negative.push(...missingHeaders.map((h) => `header ${h} is required`));
  if (negative.length && !outside.length) return { kind: 'negative', reasons: negative, missingHeaders };
  if (outside.length) return { kind: 'neither', reasons: outside, missingHeaders };
  return { kind: 'positive', reasons: [], missingHeaders };
}
