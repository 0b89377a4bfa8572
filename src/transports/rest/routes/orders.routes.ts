import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import {
  ORDER_DEFAULT_SORT,
  ORDER_ITEM_DEFAULT_SORT,
  ORDER_ITEM_SORTS,
  NewOrderInput,
  ORDER_SORTS,
  ORDER_STATUSES,
  PLACE_ORDER,
  OrderStatusInput,
  type NewOrder,
  type Order,
  type OrderFilter,
  type OrderItem,
  type OrdersService,
} from '../../../domain/orders/index.ts';
import type { ProductsService } from '../../../domain/products/index.ts';
import type { UsersService } from '../../../domain/users/index.ts';
import { expectedVersion, notModified, versionEtag } from '../conditional.ts';
import { LIST_MEDIA_TYPES, ListEnvelope, type ListRoute, type RestLists } from '../lists.ts';
import { principalOf } from '../plugins/request-context.ts';
import { commaList, listQuery, splitList } from '../query.ts';
import { typed } from '../type-provider.ts';
import { EMBEDDED_USER_FIELDS, orderItemsRelation, productRelation, userRelation } from '../relations.ts';
import { Envelope, IdParams, IfMatchHeaders as IfMatch, NoQuery, problemResponses, SECURITY } from '../schemas/common.ts';
import { ORDER_FIELDS, ORDER_ITEM_FIELDS, OrderItemSchema, OrderSchema, presentOrder, presentOrderItem } from '../schemas/orders.ts';
import { PRODUCT_FIELDS } from '../schemas/products.ts';

const Amount = (description: string) => Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description }));
const DateTime = (description: string) => Type.Optional(Type.String({ format: 'date-time', description }));
const OrderFilters = {
  status: commaList(ORDER_STATUSES, `Comma-separated statuses (${ORDER_STATUSES.join(', ')}).`),
  total_min: Amount('Only orders whose total is at least this (minor units).'),
  total_max: Amount('Only orders whose total is at most this (minor units).'),
  created_after: DateTime('Only orders placed after this instant.'),
  created_before: DateTime('Only orders placed before this instant.'),
};

const NotModified = Type.Null({ description: 'Not modified' });
const OrderEnvelope = Envelope(OrderSchema, 'The order, with its items');

export interface OrderRoutesDeps {
  orders: OrdersService;
  products: ProductsService;
  users: UsersService;
  lists: RestLists;
}

/** The list's query as handlers read it (the route's schema also carries the list's sort, fields and include names). */
type OrderQuery = Static<ReturnType<typeof listQuery<typeof OrderFilters>>>;

function filterOf(q: OrderQuery): OrderFilter {
  return {
    statuses: splitList(q.status),
    totalMin: q.total_min,
    totalMax: q.total_max,
    createdAfter: q.created_after === undefined ? undefined : new Date(q.created_after),
    createdBefore: q.created_before === undefined ? undefined : new Date(q.created_before),
  };
}

/** The domain input of `orders.create`: what the key is bound to, and what the handler places. */
function newOrderOf(request: FastifyRequest): NewOrder {
  return request.body as NewOrder;
}

/** Orders and order items. Every read is limited to the caller's own orders unless the caller is an administrator. */
export function registerOrderRoutes(fastify: FastifyInstance, { orders, products, users, lists }: OrderRoutesDeps): void {
  const app = typed(fastify);
  const tags = ['orders'];
  const security = SECURITY.required;
  const product = productRelation(products);
  const orderList: ListRoute<Order> = {
    spec: {
      sorts: ORDER_SORTS,
      defaultSort: ORDER_DEFAULT_SORT,
      fields: ORDER_FIELDS,
      includes: { items: ORDER_ITEM_FIELDS, 'items.product': PRODUCT_FIELDS, user: EMBEDDED_USER_FIELDS },
    },
    present: presentOrder,
    relations: { items: orderItemsRelation(orders), 'items.product': product, user: userRelation(users, 'user_id', 'user') },
  };
  const itemList: ListRoute<OrderItem> = {
    spec: { sorts: ORDER_ITEM_SORTS, defaultSort: ORDER_ITEM_DEFAULT_SORT, fields: ORDER_ITEM_FIELDS, includes: { product: PRODUCT_FIELDS } },
    present: presentOrderItem,
    relations: { product },
  };
  const listConfig = { auth: 'required' as const, produces: LIST_MEDIA_TYPES };
  const listResponses = { 200: ListEnvelope(OrderSchema, 'A page of orders'), 304: NotModified, ...problemResponses(400, 401, 403, 406, 422) };
  const listDescription =
    'Newest first by default. Filters: status (comma-separated), total_min, total_max, created_after, created_before. Sorts: created_at, total. Includes: items, items.product, user.';

  app.get('/orders', {
    config: listConfig,
    schema: {
      operationId: 'listOrders',
      tags,
      summary: 'List orders',
      description: `The caller's orders (every order for administrators). ${listDescription}`,
      security,
      querystring: listQuery(OrderFilters, { list: orderList.spec }),
      response: listResponses,
    },
    handler: async (request, reply) => {
      const options = lists.options(request, orderList.spec);
      const page = await orders.list(principalOf(request), filterOf(request.query), options.page);
      return lists.send(request, reply, orderList, options, page);
    },
  });

  app.get('/users/:id/orders', {
    config: listConfig,
    schema: {
      operationId: 'listUserOrders',
      tags,
      summary: "List a user's orders",
      description: `The user itself or an administrator; anyone else is refused. ${listDescription}`,
      security,
      params: IdParams,
      querystring: listQuery(OrderFilters, { list: orderList.spec }),
      response: { ...listResponses, ...problemResponses(400, 401, 403, 404, 406, 422) },
    },
    handler: async (request, reply) => {
      const options = lists.options(request, orderList.spec);
      const page = await orders.listForUser(principalOf(request), request.params.id, filterOf(request.query), options.page);
      return lists.send(request, reply, orderList, options, page);
    },
  });

  app.post('/orders', {
    config: { auth: 'required', idempotency: { operation: PLACE_ORDER, input: newOrderOf } },
    schema: {
      operationId: 'createOrder',
      tags,
      summary: 'Place an order',
      description:
        'Prices and totals are computed on the server; every item must be priced in one currency. Stock is taken atomically: if any product lacks stock the answer is 409 OUT_OF_STOCK naming the items, and nothing is ordered.',
      security,
      querystring: NoQuery,
      body: NewOrderInput.schema,
      response: { 201: OrderEnvelope, ...problemResponses(400, 401, 403, 409, 413, 415, 422) },
    },
    handler: async (request, reply) => {
      const order = await orders.place(principalOf(request), request.body);
      reply.header('location', `/v2/orders/${order.id}`).header('etag', versionEtag(order.version));
      return reply.code(201).send({ data: presentOrder(order) });
    },
  });

  app.get('/orders/:id', {
    config: { auth: 'required' },
    schema: {
      operationId: 'getOrder',
      tags,
      summary: 'Get an order',
      description: "The order with its items. Another user's order is 404.",
      security,
      params: IdParams,
      querystring: NoQuery,
      response: { 200: OrderEnvelope, 304: NotModified, ...problemResponses(400, 401, 403, 404) },
    },
    handler: async (request, reply) => {
      const order = await orders.get(principalOf(request), request.params.id);
      if (notModified(request, reply, versionEtag(order.version), order.updatedAt)) return reply.send();
      return { data: presentOrder(order) };
    },
  });

  app.patch('/orders/:id', {
    config: { auth: 'required' },
    schema: {
      operationId: 'updateOrderStatus',
      tags,
      summary: 'Move an order to its next status',
      description:
        'Administrators only: pending → confirmed → shipped → delivered, one step at a time (409 INVALID_STATE_TRANSITION otherwise). Cancel with POST /v2/orders/{id}/cancel. Send If-Match to avoid lost updates.',
      security,
      params: IdParams,
      querystring: NoQuery,
      headers: IfMatch,
      body: OrderStatusInput.schema,
      response: { 200: OrderEnvelope, ...problemResponses(400, 401, 403, 404, 409, 412, 415, 422, 428) },
    },
    handler: async (request, reply) => {
      const order = await orders.setStatus(principalOf(request), request.params.id, request.body.status, expectedVersion(request));
      reply.header('etag', versionEtag(order.version));
      return { data: presentOrder(order) };
    },
  });

  app.post('/orders/:id/cancel', {
    config: { auth: 'required' },
    schema: {
      operationId: 'cancelOrder',
      tags,
      summary: 'Cancel an order',
      description: 'The owner or an administrator cancels a pending or confirmed order; its items go back in stock. Otherwise 409 INVALID_STATE_TRANSITION with current_status.',
      security,
      params: IdParams,
      querystring: NoQuery,
      response: { 200: OrderEnvelope, ...problemResponses(400, 401, 403, 404, 409) },
    },
    handler: async (request, reply) => {
      const order = await orders.cancel(principalOf(request), request.params.id);
      reply.header('etag', versionEtag(order.version));
      return { data: presentOrder(order) };
    },
  });

  app.get('/orders/:id/items', {
    config: listConfig,
    schema: {
      operationId: 'listOrderItems',
      tags,
      summary: "List an order's items",
      description: 'In the order they were placed. Include: product.',
      security,
      params: IdParams,
      querystring: listQuery({}, { list: itemList.spec }),
      response: { 200: ListEnvelope(OrderItemSchema, 'A page of order items'), 304: NotModified, ...problemResponses(400, 401, 403, 404, 406) },
    },
    handler: async (request, reply) => {
      const options = lists.options(request, itemList.spec);
      const page = await orders.items(principalOf(request), request.params.id, options.page);
      return lists.send(request, reply, itemList, options, page);
    },
  });

  app.get('/order-items/:id', {
    config: { auth: 'required' },
    schema: {
      operationId: 'getOrderItem',
      tags,
      summary: 'Get an order item',
      description: "An item of another user's order is 404.",
      security,
      params: IdParams,
      querystring: NoQuery,
      response: { 200: Envelope(OrderItemSchema, 'The order item'), ...problemResponses(400, 401, 403, 404) },
    },
    handler: async (request) => {
      const item = await orders.getItem(principalOf(request), request.params.id);
      return { data: presentOrderItem(item) };
    },
  });
}
