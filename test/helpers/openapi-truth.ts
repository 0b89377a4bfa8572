import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

type Json = Record<string, unknown>;
interface MediaObject {
  schema?: Json;
}
interface ResponseObject {
  content?: Record<string, MediaObject>;
  headers?: Record<string, HeaderObject>;
  $ref?: string;
}
export interface ParameterObject {
  in: string;
  name: string;
  required?: boolean;
  schema?: Json;
  $ref?: string;
}
export interface HeaderObject {
  required?: boolean;
  schema?: Json;
  $ref?: string;
}
export interface OperationObject {
  operationId?: string;
  security?: Array<Record<string, string[]>>;
  parameters?: ParameterObject[];
  requestBody?: { required?: boolean; content?: Record<string, MediaObject & { example?: unknown; examples?: Record<string, { value?: unknown }> }> };
  responses: Record<string, ResponseObject>;
  tags?: string[];
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, OperationObject>>;
  components?: Json;
}

/** One answer as a client saw it. */
export interface Observed {
  method: string;
  url: string;
  status: number;
  contentType: string | undefined;
  body: string;
}

export interface Operation {
  method: string;
  path: string;
  operation: OperationObject;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
const pointer = (segments: string[]) => '#/' + segments.map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/**
 * Checks observed answers against an OpenAPI 3.1 document: the operation
 * exists, the status is one it documents, the media type is one documented for
 * that status (no body where none is), and a JSON body validates against the
 * documented schema (Ajv, JSON Schema 2020-12, the document's components).
 */
export class OpenApiTruth {
  readonly doc: OpenApiDocument;
  readonly #ajv: Ajv2020;
  readonly #routes: Array<{ regex: RegExp; path: string; params: number }>;
  readonly #validators = new Map<string, ValidateFunction>();

  constructor(doc: OpenApiDocument) {
    this.doc = doc;
    this.#ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    addFormats(this.#ajv);
    this.#ajv.addKeyword({ keyword: 'example' });
    this.#ajv.addSchema({ ...doc, $id: 'openapi' } as Json);
    this.#routes = Object.keys(doc.paths)
      .map((path) => ({
        path,
        params: (path.match(/\{/g) ?? []).length,
        regex: new RegExp('^' + path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+') + '$'),
      }))
      .sort((a, b) => a.params - b.params);
  }

  operations(): Operation[] {
    const out: Operation[] = [];
    for (const [path, item] of Object.entries(this.doc.paths)) {
      for (const [method, operation] of Object.entries(item)) if (METHODS.includes(method)) out.push({ method: method.toUpperCase(), path, operation });
    }
    return out;
  }

  /** The documented path template a concrete path matches, if any. */
  templateOf(method: string, url: string): string | undefined {
    const path = url.split('?')[0]!;
    return this.#routes.find((r) => r.regex.test(path) && this.doc.paths[r.path]?.[method.toLowerCase()])?.path;
  }

  /** The documented path template a concrete path matches under any method (for methods it does not document). */
  pathTemplateOf(url: string): string | undefined {
    const path = url.split('?')[0]!;
    return this.#routes.find((r) => r.regex.test(path))?.path;
  }

  /** The methods a path template documents, upper case. */
  methodsOf(template: string): string[] {
    return Object.keys(this.doc.paths[template] ?? {})
      .filter((m) => METHODS.includes(m))
      .map((m) => m.toUpperCase());
  }

  /** Follows a local `$ref` (`#/components/...`), returning the object and its JSON pointer segments. */
  resolve<T>(node: T & { $ref?: string }, at: string[]): { node: T; at: string[] } {
    let current: unknown = node;
    let pointerAt = at;
    for (let i = 0; i < 20 && typeof (current as { $ref?: unknown })?.$ref === 'string'; i++) {
      pointerAt = ((current as { $ref: string }).$ref.replace(/^#\//, '').split('/')).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
      current = pointerAt.reduce<unknown>((n, key) => (n as Json | undefined)?.[key], this.doc);
    }
    return { node: current as T, at: pointerAt };
  }

  /** The parameters of an operation (path-item ones included), each with the pointer of its schema. */
  parametersOf(template: string, method: string): Array<ParameterObject & { schemaAt: string[] }> {
    const m = method.toLowerCase();
    const item = this.doc.paths[template] as (Record<string, OperationObject> & { parameters?: ParameterObject[] }) | undefined;
    const out = new Map<string, ParameterObject & { schemaAt: string[] }>();
    const add = (list: ParameterObject[] | undefined, at: string[]) =>
      (list ?? []).forEach((raw, i) => {
        const { node, at: where } = this.resolve<ParameterObject>(raw, [...at, String(i)]);
        if (node) out.set(`${node.in} ${node.in === 'header' ? node.name.toLowerCase() : node.name}`, { ...node, schemaAt: [...where, 'schema'] });
      });
    add(item?.parameters as ParameterObject[] | undefined, ['paths', template, 'parameters']);
    add(item?.[m]?.parameters, ['paths', template, m, 'parameters']);
    return [...out.values()];
  }

  /** The documented headers of the response an operation gives with `status`, each with the pointer of its schema. */
  responseHeadersOf(template: string, method: string, status: number): Array<{ name: string; required: boolean; schemaAt: string[] | undefined }> {
    const m = method.toLowerCase();
    const responses = this.doc.paths[template]?.[m]?.responses ?? {};
    const key = [String(status), `${String(status)[0]}XX`, 'default'].find((k) => k in responses);
    if (!key) return [];
    const { node: response, at } = this.resolve<ResponseObject>(responses[key]!, ['paths', template, m, 'responses', key]);
    return Object.entries(response?.headers ?? {}).map(([name, raw]) => {
      const { node, at: where } = this.resolve<HeaderObject>(raw, [...at, 'headers', name]);
      return { name, required: node?.required === true, schemaAt: node?.schema ? [...where, 'schema'] : undefined };
    });
  }

  /** Why `value` breaks the schema at a JSON pointer of the document; empty when it fits. */
  schemaErrors(at: string[], value: unknown): string[] {
    const id = `schema ${pointer(at)}`;
    if (at.reduce<unknown>((n, key) => (n as Json | undefined)?.[key], this.doc) === undefined) return [];
    let validate = this.#validators.get(id);
    if (!validate) {
      validate = this.#ajv.compile({ $ref: `openapi${pointer(at)}` });
      this.#validators.set(id, validate);
    }
    return validate(value) ? [] : (validate.errors ?? []).slice(0, 3).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
  }

  /** Every way the answer departs from the document; empty when it is the truth. */
  check(seen: Observed): string[] {
    const method = seen.method.toLowerCase();
    const template = this.templateOf(seen.method, seen.url);
    const where = `${seen.method} ${template ?? seen.url} → ${seen.status}`;
    if (!template) return [`${where}: no documented operation for ${seen.method} ${seen.url.split('?')[0]}`];
    const operation = this.doc.paths[template]![method]!;
    const status = String(seen.status);
    const key = status in operation.responses ? status : `${status[0]}XX` in operation.responses ? `${status[0]}XX` : 'default' in operation.responses ? 'default' : undefined;
    if (!key) return [`${where}: status ${status} is not documented (documented: ${Object.keys(operation.responses).join(', ')})`];
    const response = operation.responses[key]!;
    const content = response.content ?? {};
    const mediaTypes = Object.keys(content);
    if (seen.method === 'HEAD' || seen.status === 204 || seen.status === 304) {
      return seen.body === '' ? [] : [`${where}: a ${status} must have no body`];
    }
    if (mediaTypes.length === 0) return seen.body === '' ? [] : [`${where}: the document declares no body, got ${seen.contentType ?? 'no content type'}`];
    const mediaType = (seen.contentType ?? '').split(';')[0]!.trim().toLowerCase();
    if (!mediaTypes.includes(mediaType)) return [`${where}: media type ${mediaType || '(none)'} is not documented (documented: ${mediaTypes.join(', ')})`];
    if (!/^application\/(.+\+)?json$/.test(mediaType)) return [];
    let body: unknown;
    try {
      body = JSON.parse(seen.body);
    } catch {
      return [`${where}: the body is not JSON`];
    }
    const validate = this.#validator(template, method, key, mediaType);
    if (!validate || validate(body)) return [];
    const errors = (validate.errors ?? []).slice(0, 3).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
    return [`${where} (${mediaType}): the body breaks the documented schema: ${errors.join('; ')}`];
  }

  /**
   * Why a JSON request body breaks the operation's documented request schema;
   * empty when it fits, `undefined` when the operation documents no JSON body.
   */
  requestBodyErrors(template: string, method: string, body: unknown): string[] | undefined {
    const m = method.toLowerCase();
    if (!this.doc.paths[template]?.[m]?.requestBody?.content?.['application/json']?.schema) return undefined;
    const id = `${template} ${m} request`;
    let validate = this.#validators.get(id);
    if (!validate) {
      validate = this.#ajv.compile({ $ref: `openapi${pointer(['paths', template, m, 'requestBody', 'content', 'application/json', 'schema'])}` });
      this.#validators.set(id, validate);
    }
    return validate(body) ? [] : (validate.errors ?? []).slice(0, 3).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
  }

  #validator(template: string, method: string, key: string, mediaType: string): ValidateFunction | undefined {
    const id = `${template} ${method} ${key} ${mediaType}`;
    let validate = this.#validators.get(id);
    if (!validate) {
      if (!this.doc.paths[template]?.[method]?.responses[key]?.content?.[mediaType]?.schema) return undefined;
      validate = this.#ajv.compile({ $ref: `openapi${pointer(['paths', template, method, 'responses', key, 'content', mediaType, 'schema'])}` });
      this.#validators.set(id, validate);
    }
    return validate;
  }
}
