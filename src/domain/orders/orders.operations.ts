import { defineOperation } from '../shared/operation.ts';

/** Places an order (`OrdersService.place`): takes stock, so one key must mean one order on every transport. */
export const PLACE_ORDER = defineOperation({ name: 'orders.create', idempotencyKey: 'required' });
