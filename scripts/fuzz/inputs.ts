import fc from 'fast-check';

type Schema = Record<string, unknown>;

/** Strings that have broken parsers, queries and path handling elsewhere. */
export const NASTY_STRINGS = [
  '',
  ' ',
  'a'.repeat(100 * 1024),
  'é'.repeat(20_000),
  '\u0000',
  'nul\u0000inside',
  '\uD800',
  'lone \uDC00 low',
  '😀👩‍👩‍👧‍👦',
  '\u202Eright-to-left',
  "' OR '1'='1' --",
  '"; DROP TABLE users; --',
  '\\',
  '{"$gt":""}',
  '{}',
  '[]',
  'null',
  '../../../etc/passwd',
  '..%2f..%2fetc%2fpasswd',
  '%00',
  '%zz',
  '__proto__',
  'constructor',
  'prototype',
  '<script>alert(1)</script>',
  'line\r\nX-Injected: 1',
  '1e309',
  '-0',
  'NaN',
  'true',
];

export const NASTY_NUMBERS = [0, -1, 1, 0.5, -0.5, 2 ** 31 - 1, 2 ** 31, 2 ** 53 - 1, 2 ** 53 + 2, -(2 ** 53), 1e308, -1e308, 5e-324];

/** Path segments standing in for an id: traversal, encodings, injection, sizes. */
export const NASTY_IDS = [
  '..',
  '../..',
  '..%2F..%2Fetc%2Fpasswd',
  '%2e%2e',
  '%zz',
  '%',
  '%00',
  '%ED%A0%80',
  '%F0%9F%98%80',
  "'%20OR%201=1--",
  '__proto__',
  'constructor',
  'x'.repeat(101),
  'y'.repeat(3000),
  '0',
  '-1',
  'null',
  'usr_',
  '%20',
];

/** A value of a JSON type other than the one the schema asks for. */
export function wrongTypeOf(schema: Schema | undefined): fc.Arbitrary<unknown> {
  const type = Array.isArray(schema?.type) ? schema.type[0] : schema?.type;
  const others: unknown[] = [null, true, 0, -1, 'text', [], {}, [1, 2], { nested: { a: 1 } }, 1.5];
  return fc.constantFrom(
    ...others.filter((v) => {
      if (type === 'string') return typeof v !== 'string';
      if (type === 'integer' || type === 'number') return typeof v !== 'number' || (type === 'integer' && !Number.isInteger(v));
      if (type === 'boolean') return typeof v !== 'boolean';
      if (type === 'array') return !Array.isArray(v);
      if (type === 'object') return v === null || typeof v !== 'object' || Array.isArray(v);
      return true;
    }),
  );
}

/** JSON nested `depth` levels deep. */
export function nested(depth: number, kind: 'array' | 'object'): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = kind === 'array' ? [value] : { a: value };
  return value;
}

/**
 * Arbitraries for the JSON Schemas of an OpenAPI document: `valid(schema)`
 * makes values the schema accepts (`pattern` followed, formats only
 * approximately: the judge decides by validating), `edge(schema)` mixes in boundary and
 * hostile values of the same type.
 */
export class SchemaArbitraries {
  readonly #root: Schema;
  constructor(root: Schema) {
    this.#root = root;
  }

  resolve(schema: Schema | undefined): Schema | undefined {
    let s = schema;
    for (let i = 0; s && typeof s.$ref === 'string' && i < 20; i++) {
      const path = (s.$ref as string).replace(/^#\//, '').split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
      s = path.reduce<unknown>((node, key) => (node as Schema | undefined)?.[key], this.#root) as Schema | undefined;
    }
    return s;
  }

  valid(schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
    const s = this.resolve(schema);
    if (!s || depth > 6) return fc.constant('x');
    if ('const' in s) return fc.constant(s.const);
    if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
    const alternatives = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
    if (alternatives?.length) return fc.oneof(...alternatives.map((a) => this.valid(a, depth + 1)));
    if (Array.isArray(s.allOf)) return this.valid(Object.assign({}, ...(s.allOf as Schema[]).map((a) => this.resolve(a))), depth + 1);
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string | undefined];
    const type = types.find((t) => t !== 'null') ?? types[0];
    switch (type) {
      case 'string':
        return this.#string(s);
      case 'integer':
        return fc.integer({ min: Math.max(Number(s.minimum ?? -1000), -(2 ** 31)), max: Math.min(Number(s.maximum ?? 100_000), 2 ** 31 - 1) });
      case 'number':
        return fc.double({ min: Number(s.minimum ?? -1000), max: Number(s.maximum ?? 100_000), noNaN: true, noDefaultInfinity: true });
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      case 'array': {
        const min = Number(s.minItems ?? 0);
        const max = Math.max(min, Math.min(Number(s.maxItems ?? 3), 3));
        return fc.array(this.valid(s.items as Schema, depth + 1), { minLength: min, maxLength: max });
      }
      case 'object':
      default:
        return this.#object(s, depth);
    }
  }

  #string(s: Schema): fc.Arbitrary<string> {
    const min = Number(s.minLength ?? 0);
    const max = Math.max(min, Math.min(Number(s.maxLength ?? 40), 60));
    if (typeof s.pattern === 'string') {
      const limit = Number(s.maxLength ?? Infinity);
      return fc.stringMatching(new RegExp(s.pattern as string, 'u')).filter((v) => v.length >= min && v.length <= limit);
    }
    switch (s.format) {
      case 'email':
        return fc.emailAddress();
      case 'date-time':
        return fc.date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
      case 'date':
        return fc.date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
      case 'uri':
      case 'url':
        return fc.webUrl();
      case 'uuid':
        return fc.uuid();
      default:
        if (Array.isArray(s.examples) && s.examples.length) return fc.oneof(fc.constantFrom(...(s.examples as string[])), fc.string({ minLength: min, maxLength: max }));
        if (typeof s.example === 'string') return fc.oneof(fc.constant(s.example), fc.string({ minLength: min, maxLength: max }));
        return fc.string({ minLength: min, maxLength: max });
    }
  }

  #object(s: Schema, depth: number): fc.Arbitrary<unknown> {
    const properties = (s.properties ?? {}) as Record<string, Schema>;
    const required = new Set((s.required ?? []) as string[]);
    const model: Record<string, fc.Arbitrary<unknown>> = {};
    for (const [name, property] of Object.entries(properties)) model[name] = this.valid(property, depth + 1);
    const requiredKeys = Object.keys(model).filter((k) => required.has(k));
    return fc.record(model, { requiredKeys });
  }

  /** A value of the schema's type, often a hostile one. */
  edge(schema: Schema | undefined): fc.Arbitrary<unknown> {
    const s = this.resolve(schema);
    const types = Array.isArray(s?.type) ? (s.type as string[]) : [s?.type as string | undefined];
    const type = types.find((t) => t !== 'null') ?? types[0];
    const bounds = (['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength'] as const)
      .map((k) => s?.[k])
      .filter((v): v is number => typeof v === 'number');
    if (type === 'integer' || type === 'number') return fc.constantFrom(...NASTY_NUMBERS, ...bounds.flatMap((b) => [b - 1, b, b + 1]));
    if (type === 'string') {
      const lengths = bounds.flatMap((b) => [b - 1, b, b + 1]).filter((n) => n >= 0 && n < 200_000);
      return fc.oneof(fc.constantFrom(...NASTY_STRINGS), fc.constantFrom(0, ...lengths).map((n) => 'z'.repeat(n)), fc.string({ unit: 'binary', maxLength: 30 }));
    }
    return fc.oneof(wrongTypeOf(s), fc.constantFrom(nested(64, 'object'), nested(2000, 'array'), JSON.parse('{"__proto__":{"polluted":true}}') as unknown));
  }
}
