import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { NewProductInput, PRODUCT_DEFAULT_SORT, PRODUCT_SORTS, ProductPatchInput, type Product, type ProductsService } from '../../../domain/products/index.ts';
import { MONEY_MAX } from '../../../domain/shared/money.ts';
import { expectedVersion, notModified, versionEtag } from '../conditional.ts';
import { LIST_MEDIA_TYPES, ListEnvelope, type ListRoute, type RestLists } from '../lists.ts';
import { principalOf } from '../plugins/request-context.ts';
import { listQuery, splitList } from '../query.ts';
import { typed } from '../type-provider.ts';
import { Envelope, IdParams, IfMatchHeaders as IfMatch, NoQuery, problemResponses, SECURITY } from '../schemas/common.ts';
import { PRODUCT_FIELDS, presentProduct, ProductSchema } from '../schemas/products.ts';

/** Shared caches may keep catalogue reads for a minute; the body never depends on who asks. */
const PUBLIC_CACHE_CONTROL = 'public, max-age=60';
const PUBLIC_VARY = 'Accept';

const Price = (description: string) => Type.Integer({ minimum: 0, maximum: MONEY_MAX, description });
const ProductFilters = {
  category: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'Comma-separated categories (exact match).' })),
  price_min: Type.Optional(Price('Only products priced at least this (minor units).')),
  price_max: Type.Optional(Price('Only products priced at most this (minor units).')),
  in_stock: Type.Optional(Type.Boolean({ description: 'true: only products in stock; false: only sold-out ones.' })),
};
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
export function registerProductRoutes(fastify: FastifyInstance, { products, lists }: ProductRoutesDeps): void {
  const app = typed(fastify);
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
      querystring: listQuery(ProductFilters, { search: true, list: productList.spec }),
      response: { 200: ListEnvelope(ProductSchema, 'A page of products'), 304: NotModified, ...problemResponses(400, 401, 406, 422) },
    },
    handler: async (request, reply) => {
      const options = lists.options(request, productList.spec);
      const q = request.query;
      const page = await products.list(
        {
          categories: splitList(q.category),
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
      description: 'Administrators only (an API key needs products:write).',
      security: SECURITY.required,
      querystring: NoQuery,
      body: NewProductInput.schema,
      response: { 201: ProductEnvelope, ...problemResponses(400, 401, 403, 413, 415, 422) },
    },
    handler: async (request, reply) => {
      const product = await products.create(principalOf(request), request.body);
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
      const product = await products.get(request.params.id);
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
      description: 'Administrators only (an API key needs products:write). Records a product.updated event. Send If-Match to avoid lost updates (stock changes from orders move the ETag too).',
      security: SECURITY.required,
      params: IdParams,
      querystring: NoQuery,
      headers: IfMatch,
      body: ProductPatchInput.schema,
      response: { 200: ProductEnvelope, ...problemResponses(400, 401, 403, 404, 412, 415, 422, 428) },
    },
    handler: async (request, reply) => {
      const product = await products.update(principalOf(request), request.params.id, request.body, expectedVersion(request));
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
      description: 'Administrators only (an API key needs products:write). The product leaves the catalogue; existing orders keep their items.',
      security: SECURITY.required,
      params: IdParams,
      querystring: NoQuery,
      headers: IfMatch,
      response: { 204: Type.Null({ description: 'Deleted' }), ...problemResponses(401, 403, 404, 412, 428) },
    },
    handler: async (request, reply) => {
      await products.delete(principalOf(request), request.params.id, expectedVersion(request));
      return reply.code(204).send();
    },
  });
}
