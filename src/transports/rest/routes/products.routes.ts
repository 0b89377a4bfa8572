import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import {
  CATEGORY_MAX,
  PRODUCT_DEFAULT_SORT,
  PRODUCT_DESCRIPTION_MAX,
  PRODUCT_NAME_MAX,
  PRODUCT_SORTS,
  STOCK_MAX,
  type NewProduct,
  type Product,
  type ProductChanges,
  type ProductsService,
} from '../../../domain/products/index.ts';
import { MONEY_MAX } from '../../../domain/shared/money.ts';
import { expectedVersion, notModified, versionEtag } from '../conditional.ts';
import { LIST_MEDIA_TYPES, ListEnvelope, listQuerySchema, type ListRoute, type RestLists } from '../lists.ts';
import { principalOf } from '../plugins/request-context.ts';
import { Envelope, IdParams, NoQuery, problemResponses, SECURITY } from '../schemas/common.ts';
import { PRODUCT_FIELDS, presentProduct, ProductSchema } from '../schemas/products.ts';

/** Shared caches may keep catalogue reads for a minute; the body never depends on who asks. */
const PUBLIC_CACHE_CONTROL = 'public, max-age=60';
const PUBLIC_VARY = 'Accept';

const Price = (description: string) => Type.Integer({ minimum: 0, maximum: MONEY_MAX, description });
const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code in upper case.', examples: ['EUR'] });
const Fields = {
  name: Type.String({ minLength: 1, maxLength: PRODUCT_NAME_MAX }),
  description: Type.String({ maxLength: PRODUCT_DESCRIPTION_MAX }),
  category: Type.String({ minLength: 1, maxLength: CATEGORY_MAX, description: 'No commas (categories are filtered as a comma-separated list).' }),
  price: Price('Minor units of currency.'),
  currency: Currency,
  stock: Type.Integer({ minimum: 0, maximum: STOCK_MAX }),
};
const ProductBody = Type.Object(
  {
    name: Fields.name,
    description: Type.Optional(Fields.description),
    category: Fields.category,
    price: Fields.price,
    currency: Fields.currency,
    stock: Type.Optional(Type.Integer({ minimum: 0, maximum: STOCK_MAX, description: 'Units available (default 0).' })),
  },
  { additionalProperties: false, examples: [{ name: 'Ceramic mug', description: 'Holds 350 ml.', category: 'kitchen', price: 1250, currency: 'EUR', stock: 40 }] },
);
const ProductPatch = Type.Object(
  {
    name: Type.Optional(Fields.name),
    description: Type.Optional(Fields.description),
    category: Type.Optional(Fields.category),
    price: Type.Optional(Fields.price),
    currency: Type.Optional(Fields.currency),
    stock: Type.Optional(Fields.stock),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ price: 1100, stock: 25 }] },
);
const ProductFilters = {
  category: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'Comma-separated categories (exact match).' })),
  price_min: Type.Optional(Price('Only products priced at least this (minor units).')),
  price_max: Type.Optional(Price('Only products priced at most this (minor units).')),
  in_stock: Type.Optional(Type.Boolean({ description: 'true: only products in stock; false: only sold-out ones.' })),
};
const IfMatch = Type.Object({ 'if-match': Type.Optional(Type.String({ description: 'Apply only if the ETag still matches (412 otherwise).' })) });
const ProductEnvelope = Envelope(ProductSchema, 'The product');
const NotModified = Type.Null({ description: 'Not modified' });

function publicCache(reply: FastifyReply): void {
  reply.header('cache-control', PUBLIC_CACHE_CONTROL).header('vary', PUBLIC_VARY);
}

export interface ProductRoutesDeps {
  products: ProductsService;
  lists: RestLists;
}

/** The public catalogue: reads need no credentials and are cacheable; writes are for administrators. */
export function registerProductRoutes(app: FastifyInstance, { products, lists }: ProductRoutesDeps): void {
  const tags = ['catalogue'];
  const productList: ListRoute<Product> = {
    spec: { sorts: PRODUCT_SORTS, defaultSort: PRODUCT_DEFAULT_SORT, fields: PRODUCT_FIELDS },
    present: presentProduct,
    vary: PUBLIC_VARY,
  };

  app.get('/products', {
    config: { auth: 'optional', produces: LIST_MEDIA_TYPES },
    schema: {
      operationId: 'listProducts',
      tags,
      summary: 'List products',
      description:
        'The public catalogue, newest first by default; no credentials needed, cacheable by shared caches for 60 s. Filters: category, price_min, price_max, in_stock; q searches name and description. Sorts: created_at, name, price.',
      security: SECURITY.optional,
      querystring: listQuerySchema(ProductFilters, { search: true }),
      response: { 200: ListEnvelope(ProductSchema, 'A page of products'), 304: NotModified, ...problemResponses(400, 401, 406, 422) },
    },
    handler: async (request, reply) => {
      const options = lists.options(request, productList.spec);
      const q = request.query as { category?: string; price_min?: number; price_max?: number; in_stock?: boolean; q?: string };
      const page = await products.list(
        {
          categories: q.category?.split(',').map((c) => c.trim()),
          priceMin: q.price_min,
          priceMax: q.price_max,
          inStock: q.in_stock,
          q: q.q,
        },
        options.page,
      );
      publicCache(reply);
      return lists.send(request, reply, productList, options, page);
    },
  });

  app.post('/products', {
    config: { auth: 'required' },
    schema: {
      operationId: 'createProduct',
      tags,
      summary: 'Create a product',
      description: 'Administrators only.',
      security: SECURITY.required,
      querystring: NoQuery,
      body: ProductBody,
      response: { 201: ProductEnvelope, ...problemResponses(400, 401, 403, 413, 415, 422) },
    },
    handler: async (request, reply) => {
      const product = await products.create(principalOf(request), request.body as NewProduct);
      reply.header('location', `/v2/products/${product.id}`).header('etag', versionEtag(product.version));
      return reply.code(201).send({ data: presentProduct(product) });
    },
  });

  app.get('/products/:id', {
    config: { auth: 'optional' },
    schema: {
      operationId: 'getProduct',
      tags,
      summary: 'Get a product',
      description: 'No credentials needed; cacheable by shared caches for 60 s, with ETag and Last-Modified for revalidation.',
      security: SECURITY.optional,
      params: IdParams,
      querystring: NoQuery,
      response: { 200: ProductEnvelope, 304: NotModified, ...problemResponses(400, 401, 404) },
    },
    handler: async (request, reply) => {
      const product = await products.get((request.params as { id: string }).id);
      publicCache(reply);
      if (notModified(request, reply, versionEtag(product.version), product.updatedAt)) return reply.send();
      return { data: presentProduct(product) };
    },
  });

  app.patch('/products/:id', {
    config: { auth: 'required' },
    schema: {
      operationId: 'updateProduct',
      tags,
      summary: 'Update a product (JSON Merge Patch)',
      description: 'Administrators only. Records a product.updated event. Send If-Match to avoid lost updates (stock changes from orders move the ETag too).',
      security: SECURITY.required,
      params: IdParams,
      querystring: NoQuery,
      headers: IfMatch,
      body: ProductPatch,
      response: { 200: ProductEnvelope, ...problemResponses(400, 401, 403, 404, 412, 415, 422, 428) },
    },
    handler: async (request, reply) => {
      const product = await products.update(principalOf(request), (request.params as { id: string }).id, request.body as ProductChanges, expectedVersion(request));
      reply.header('etag', versionEtag(product.version));
      return { data: presentProduct(product) };
    },
  });

  app.delete('/products/:id', {
    config: { auth: 'required' },
    schema: {
      operationId: 'deleteProduct',
      tags,
      summary: 'Delete a product',
      description: 'Administrators only. The product leaves the catalogue; existing orders keep their items.',
      security: SECURITY.required,
      params: IdParams,
      querystring: NoQuery,
      headers: IfMatch,
      response: { 204: Type.Null({ description: 'Deleted' }), ...problemResponses(401, 403, 404, 412, 428) },
    },
    handler: async (request, reply) => {
      await products.delete(principalOf(request), (request.params as { id: string }).id, expectedVersion(request));
      return reply.code(204).send();
    },
  });
}
