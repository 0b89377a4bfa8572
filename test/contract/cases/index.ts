import type { Table } from '../case.ts';
import { CHARGES } from './charges.cases.ts';
import { EVENTS } from './events.cases.ts';
import { FOLLOWS } from './follows.cases.ts';
import { ORDERS } from './orders.cases.ts';
import { POSTS } from './posts.cases.ts';
import { PRODUCTS } from './products.cases.ts';
import { USERS } from './users.cases.ts';

/** Every table of the contract. */
export const TABLES: Table[] = [USERS, POSTS, FOLLOWS, PRODUCTS, ORDERS, CHARGES, EVENTS];
