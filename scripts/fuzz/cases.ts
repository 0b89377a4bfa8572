import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { bodyFor, collectionOf } from '../../test/helpers/api-walk.ts';
import type { Operation, OpenApiTruth } from '../../test/helpers/openapi-truth.ts';
import { NASTY_IDS, NASTY_NUMBERS, NASTY_STRINGS, nested, SchemaArbitraries, wrongTypeOf } from './inputs.ts';
import { ACTOR_OWNER, ACTORS, type Actor, type Owner, type Target } from './target.ts';

type Json = Record<string, unknown>;

/** Whose resource a path names: A's, B's, nobody's, or a hostile segment sent as is. */
export type PathTarget = { kind: 'owned'; owner: Owner } | { kind: 'missing' } | { kind: 'raw'; segment: string };

export type BodyPlan =
  | { kind: 'none' }
  | { kind: 'known-good'; mutation?: { kind: 'drop' | 'set' | 'unknown'; pick: number; value?: unknown } }
  | { kind: 'generated'; value: unknown }
  | { kind: 'raw'; contentType: string | undefined; text: string };

/** One generated request, in terms that survive a restart (no ids, only roles). */
export interface Case {
  op: number;
  /** A method sent instead of the operation's own (the path may not document it). */
  method: (typeof OTHER_METHODS)[number] | undefined;
  actor: Actor;
  target: PathTarget;
  query: Array<[string, string]>;
  accept: string | undefined;
  idempotencyKey: 'fresh' | 'none' | string;
  ifMatch: 'none' | 'current' | string;
  body: BodyPlan;
}

export interface Built {
  options: Omit<InjectOptions, 'method'> & { method: string; url: string };
  /** The owner of the resource the path names, when it names one of A's or B's. */
  pathOwner: Owner | undefined;
}

const ACCEPTS = [undefined, 'application/json', 'application/problem+json', 'text/csv', '*/*', 'image/png', 'application/xml', 'text/csv;q=0.1, application/json', '', 'application/json;q=0', '*/*;q=0', 'text/*', 'application/*', 'application/vnd.stoa.v1+json', 'application/vnd.stoa.v9+json', 'application/json;charset=latin1'];
/** Methods sent to a documented path that may not document them. */
export const OTHER_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'] as const;
const RAW_BODIES: Array<[string | undefined, string]> = [
  ['application/json', '{"broken'],
  ['application/json', ''],
  ['application/json', 'null'],
  ['application/json', '[]'],
  ['application/json', '"a string"'],
  ['application/json', '12'],
  ['application/json', '{"__proto__":{"role":"admin","isAdmin":true}}'],
  ['application/json', '{"constructor":{"prototype":{"role":"admin"}}}'],
  ['application/json', '{"a":1,"a":2}'],
  ['application/json', '['.repeat(5000) + ']'.repeat(5000)],
  ['application/json', JSON.stringify(nested(1000, 'object'))],
  ['application/json', '{"x":"\\ud800"}'],
  ['application/json', '{"x":"\u0000"}'],
  ['application/json', `{"x":"${'a'.repeat(2 * 1024 * 1024)}"}`],
  ['application/json; charset=utf-16', '{}'],
  ['text/plain', 'plain text'],
  ['application/x-www-form-urlencoded', 'a=1&b=2'],
  ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--'],
  ['application/xml', '<a/>'],
  [undefined, '{"title":"no content type"}'],
  ['application/json', '\uFEFF{}'],
];
const UNKNOWN_QUERY: Array<[string, string]> = [
  ['unknown_parameter', '1'],
  ['__proto__[polluted]', '1'],
  ['constructor[prototype][polluted]', '1'],
  ['fields', 'role,email,status'],
  ['fields', 'id'],
  ['fields', 'no_such_field'],
  ['fields', ''],
  ['include', 'author,items,everything'],
  ['sort', '-created_at,id'],
  ['sort', 'password_hash'],
  ['limit', '0'],
  ['limit', '100000'],
  ['limit', '-1'],
  ['limit', '1.5'],
  ['page', '0'],
  ['page', '99999999999999999999'],
  ['cursor', 'forged'],
  ['cursor', 'eyJpZCI6Ii4uLyJ9'],
  ['created_after', '2026-02-01T00:00:00Z'],
  ['created_before', '2026-01-01T00:00:00Z'],
];

/** The documented operations of every served document, each with its document. */
export function operationsOf(docs: OpenApiTruth[]): Array<{ truth: OpenApiTruth; op: Operation }> {
  return docs.flatMap((truth) => truth.operations().map((op) => ({ truth, op })));
}

function queryValue(schemas: SchemaArbitraries, schema: Json | undefined): fc.Arbitrary<string> {
  const render = (v: unknown) => (Array.isArray(v) ? v.join(',') : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v));
  return fc.oneof({ weight: 3, arbitrary: schemas.valid(schema).map(render) }, { weight: 2, arbitrary: schemas.edge(schema).map(render) });
}

/** The arbitrary of cases over the given operations. */
export function caseArbitrary(ops: Array<{ truth: OpenApiTruth; op: Operation }>): fc.Arbitrary<Case> {
  const schemasByDoc = new Map(ops.map(({ truth }) => [truth, new SchemaArbitraries(truth.doc as unknown as Json)]));
  return fc.integer({ min: 0, max: ops.length - 1 }).chain((index) => {
    const { truth, op } = ops[index]!;
    const schemas = schemasByDoc.get(truth)!;
    const params = (op.operation.parameters ?? []) as Array<{ in: string; name: string; schema?: Json }>;
    const queryParams = params.filter((p) => p.in === 'query');
    const documentedQuery = queryParams.length
      ? fc.array(fc.constantFrom(...queryParams).chain((p) => queryValue(schemas, p.schema).map((v): [string, string] => [p.name, v])), { maxLength: 4 })
      : fc.constant([] as Array<[string, string]>);
    const query = fc.tuple(documentedQuery, fc.array(fc.constantFrom(...UNKNOWN_QUERY), { maxLength: 1 }), fc.integer({ min: 0, max: 5 })).map(([documented, extra, roll]) => {
      if (roll === 0) return [...documented, ...extra];
      // The same parameter twice, or in bracket form: a parser hands the route an array.
      if (roll === 1 && documented[0]) return [...documented, documented[0]];
      if (roll === 2 && documented[0]) return [[`${documented[0][0]}[]`, documented[0][1]] as [string, string], ...documented.slice(1)];
      return documented;
    });
    const bodySchema = op.operation.requestBody?.content?.['application/json']?.schema;
    const takesBody = ['POST', 'PUT', 'PATCH'].includes(op.method);
    const body: fc.Arbitrary<BodyPlan> = takesBody
      ? fc.oneof(
          { weight: 4, arbitrary: fc.constant<BodyPlan>({ kind: 'known-good' }) },
          {
            weight: 4,
            arbitrary: fc
              .record({
                kind: fc.constantFrom('drop' as const, 'set' as const, 'unknown' as const),
                pick: fc.nat(20),
                value: fc.oneof(fc.constantFrom(...NASTY_STRINGS), fc.constantFrom(...NASTY_NUMBERS), wrongTypeOf(undefined)),
              })
              .map((mutation): BodyPlan => ({ kind: 'known-good', mutation })),
          },
          { weight: bodySchema ? 3 : 0, arbitrary: schemas.valid(bodySchema).map((value): BodyPlan => ({ kind: 'generated', value })) },
          { weight: bodySchema ? 2 : 0, arbitrary: schemas.edge(bodySchema).map((value): BodyPlan => ({ kind: 'generated', value })) },
          { weight: 2, arbitrary: fc.constantFrom(...RAW_BODIES).map(([contentType, text]): BodyPlan => ({ kind: 'raw', contentType, text })) },
        )
      : fc.oneof({ weight: 9, arbitrary: fc.constant<BodyPlan>({ kind: 'none' }) }, { weight: 1, arbitrary: fc.constantFrom(...RAW_BODIES).map(([contentType, text]): BodyPlan => ({ kind: 'raw', contentType, text })) });
    const target: fc.Arbitrary<PathTarget> = op.path.includes('{')
      ? fc.oneof(
          { weight: 5, arbitrary: fc.constantFrom<PathTarget>({ kind: 'owned', owner: 'a' }, { kind: 'owned', owner: 'b' }) },
          { weight: 1, arbitrary: fc.constant<PathTarget>({ kind: 'missing' }) },
          { weight: 2, arbitrary: fc.constantFrom(...NASTY_IDS).map((segment): PathTarget => ({ kind: 'raw', segment })) },
        )
      : fc.constant<PathTarget>({ kind: 'owned', owner: 'a' });
    return fc.record<Case>({
      op: fc.constant(index),
      method: fc.oneof({ weight: 19, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(...OTHER_METHODS) }),
      actor: fc.constantFrom(...ACTORS),
      target,
      query,
      accept: fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: fc.constantFrom(...ACCEPTS) }),
      idempotencyKey: fc.oneof({ weight: 6, arbitrary: fc.constant('fresh') }, { weight: 1, arbitrary: fc.constant('none') }, { weight: 1, arbitrary: fc.constantFrom('', 'x'.repeat(300), 'key with spaces', '\u00e9t\u00e9') }),
      ifMatch: fc.oneof({ weight: 3, arbitrary: fc.constant('none') }, { weight: 3, arbitrary: fc.constant('current') }, { weight: 1, arbitrary: fc.constantFrom('*', '"garbage"', 'W/"1"', '') }),
      body,
    });
  });
}

/** Percent-encodes UTF-8, a lone surrogate as its three WTF-8 bytes (what a sloppy client sends). */
function encode(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.charCodeAt(0);
    out += ch.length === 1 && c >= 0xd800 && c <= 0xdfff ? [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('') : encodeURIComponent(ch);
  }
  return out;
}

/** Encodes query pairs as a browser would, except that hostile names stay readable. */
function queryString(pairs: Array<[string, string]>): string {
  return pairs.map(([k, v]) => `${encode(k).replace(/%5B/g, '[').replace(/%5D/g, ']')}=${encode(v)}`).join('&');
}

function applyMutation(body: unknown, mutation: NonNullable<Extract<BodyPlan, { kind: 'known-good' }>['mutation']>): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  const copy = { ...(body as Json) };
  const keys = Object.keys(copy);
  const key = keys.length ? keys[mutation.pick % keys.length]! : 'field';
  if (mutation.kind === 'drop') delete copy[key];
  else if (mutation.kind === 'set') copy[key] = mutation.value;
  else copy[`unknown_${mutation.pick}`] = mutation.value;
  return copy;
}

/** Turns a case into a concrete request against the target's current fixtures. */
export async function build(c: Case, ops: Array<{ truth: OpenApiTruth; op: Operation }>, target: Target): Promise<Built> {
  const { op } = ops[c.op]!;
  const collection = collectionOf(op.path);
  const pathOwner = c.target.kind === 'owned' && op.path.includes('{') ? c.target.owner : undefined;
  const segment =
    c.target.kind === 'owned'
      ? encodeURIComponent(target.fixtures[c.target.owner][collection] ?? target.fixtures[c.target.owner].users!)
      : c.target.kind === 'missing'
        ? `${collection.slice(0, 3)}_0000000000000000`
        : c.target.segment;
  const path = op.path.replace(/\{[^}]+\}/g, segment);
  const qs = queryString(c.query);
  const url = qs ? `${path}?${qs}` : path;
  const owner = ACTOR_OWNER[c.actor] ?? 'a';
  const headers: Record<string, string> = { ...target.headersOf(c.actor) };
  if (c.accept !== undefined) headers.accept = c.accept;
  if (c.idempotencyKey === 'fresh') headers['idempotency-key'] = randomUUID();
  else if (c.idempotencyKey !== 'none') headers['idempotency-key'] = c.idempotencyKey;
  if (c.ifMatch === 'current' && op.method !== 'GET') {
    const current = await target.app.inject({ method: 'GET', url: path, headers: target.headersOf('admin') });
    if (current.headers.etag) headers['if-match'] = String(current.headers.etag);
  } else if (c.ifMatch !== 'none' && c.ifMatch !== 'current') headers['if-match'] = c.ifMatch;
  const options: Omit<InjectOptions, 'method'> & { method: string; url: string } = { method: c.method ?? op.method, url, headers };
  if (c.body.kind === 'raw') {
    if (c.body.contentType !== undefined) headers['content-type'] = c.body.contentType;
    options.payload = c.body.text;
  } else if (c.body.kind !== 'none') {
    const good = bodyFor(op.method, op.path, target.fixtures[owner]);
    const value = c.body.kind === 'generated' ? c.body.value : c.body.mutation ? applyMutation(good, c.body.mutation) : good;
    headers['content-type'] = 'application/json';
    options.payload = JSON.stringify(value) ?? 'null';
  }
  return { options, pathOwner };
}

/** A request as text a person can paste into curl, long values cut short. */
export function describe(options: Built['options']): string {
  const cut = (s: string) => (s.length > 300 ? `${s.slice(0, 300)}… (${s.length} chars)` : s);
  const headers = Object.entries(options.headers ?? {})
    .map(([k, v]) => `  ${k}: ${cut(/^(authorization|x-api-key)$/i.test(k) ? String(v).slice(0, 16) + '…' : String(v))}`)
    .join('\n');
  return `${options.method} ${cut(options.url)}\n${headers}${options.payload === undefined ? '' : `\n  body: ${cut(String(options.payload))}`}`;
}
