import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { SCOPES } from '../../domain/shared/principal.ts';
import { newId } from '../../domain/shared/ids.ts';
import type { Container } from '../../container.ts';
import { createScryptHasher } from '../../platform/auth/index.ts';
import type { Db } from './database.ts';

export const DEMO_ADMIN_EMAIL = 'admin@stoa.local';
const DEMO_USERS = [
  { email: 'ada@example.com', name: 'Ada Lovelace' },
  { email: 'grace@example.com', name: 'Grace Hopper' },
  { email: 'linus@example.com', name: 'Linus Torvalds' },
];

export interface DemoCredentials {
  adminEmail: string;
  adminPassword: string;
  userPassword: string;
  apiKey: string;
}

/** True when the database holds no user yet (a first start). */
export async function isEmpty(container: Container): Promise<boolean> {
  const row = await container.database.db.selectFrom('users').select('id').limit(1).executeTakeFirst();
  return row === undefined;
}

/**
 * Demo data for a first embedded start: an admin with an API key, three users
 * who follow each other and have written a few posts, a small catalogue and
 * one pending order.
 */
export async function seedDemo(container: Container): Promise<DemoCredentials> {
  const { db } = container.database;
  const adminPassword = randomBytes(12).toString('base64url');
  const userPassword = randomBytes(9).toString('base64url');
  const admin = await container.users.ensureAdmin(DEMO_ADMIN_EMAIL, adminPassword, 'Demo Admin');
  const ids: string[] = [];
  for (const user of DEMO_USERS) {
    const existing = await db.selectFrom('users').select('id').where('email', '=', user.email).executeTakeFirst();
    ids.push(existing ? existing.id : (await container.users.register({ email: user.email, display_name: user.name, password: userPassword })).id);
  }
  await seedDemoContent(db, ids as [string, string, string]);
  const { secret } = await container.apiKeys.createForUser(admin.id, { name: 'demo key', scopes: [...SCOPES] });
  return { adminEmail: DEMO_ADMIN_EMAIL, adminPassword, userPassword, apiKey: secret };
}

async function seedDemoContent(db: Db, [ada, grace, linus]: [string, string, string]): Promise<void> {
  // Wait out the users' own timestamps so that every row below is newer than its author yet already in the past.
  await new Promise((resolve) => setTimeout(resolve, 25));
  let ms = Date.now() - 20;
  const next = () => new Date(ms++);

  await db
    .insertInto('follows')
    .values(
      [
        [ada, grace],
        [ada, linus],
        [grace, ada],
        [linus, grace],
      ].map(([follower_id, following_id]) => ({ follower_id: follower_id!, following_id: following_id!, created_at: next() })),
    )
    .onConflict((oc) => oc.doNothing())
    .execute();

  const posts: Array<[string, string, string]> = [
    [ada, 'Notes on the Analytical Engine', 'The engine weaves algebraic patterns just as the Jacquard loom weaves flowers and leaves.'],
    [grace, 'Found a bug', 'There was an actual moth in relay 70, panel F. First actual case of bug being found.'],
    [linus, 'Just a hobby', "I'm doing a (free) operating system, won't be big and professional."],
    [ada, 'Selling my spare punch cards', 'A stack of lightly used cards, listed in the shop. Ask me anything.'],
    [grace, 'Nanoseconds', 'A nanosecond is about 30 centimetres of wire. Keep your cables short.'],
    [linus, 'Talk is cheap', 'Show me the code.'],
  ];
  await db
    .insertInto('posts')
    .values(
      posts.map(([author_id, title, content]) => {
        const at = next();
        return { id: newId('pst', at.getTime()), author_id, title, content, created_at: at, updated_at: at };
      }),
    )
    .execute();

  const products = [
    { name: 'Punch card deck', description: 'Eighty columns, lightly used.', category: 'collectibles', price: 1_250, currency: 'EUR' },
    { name: 'Brass gear set', description: 'Twelve precision gears for your difference engine.', category: 'hardware', price: 4_900, currency: 'EUR' },
    { name: 'Nanosecond of wire', description: 'Thirty centimetres of copper, a classic teaching prop.', category: 'hardware', price: 300, currency: 'USD' },
    { name: 'Kernel hacking mug', description: 'Holds 350 ml of coffee.', category: 'kitchen', price: 1_500, currency: 'USD' },
  ].map((p) => {
    const at = next();
    return { ...p, id: newId('prd', at.getTime()), stock: 100, created_at: at, updated_at: at };
  });
  await db.insertInto('products').values(products).execute();

  const lines = [
    { product: products[0]!, quantity: 2 },
    { product: products[1]!, quantity: 1 },
  ];
  const at = next();
  const orderId = newId('ord', at.getTime());
  const total = lines.reduce((sum, line) => sum + line.product.price * line.quantity, 0);
  await db.insertInto('orders').values({ id: orderId, user_id: ada, status: 'pending', total, currency: 'EUR', created_at: at, updated_at: at }).execute();
  await db
    .insertInto('order_items')
    .values(
      lines.map((line) => ({
        id: newId('itm', at.getTime()),
        order_id: orderId,
        product_id: line.product.id,
        quantity: line.quantity,
        unit_price: line.product.price,
        currency: 'EUR',
        created_at: at,
      })),
    )
    .execute();
}

/** How many rows `seedScale` writes for a given number of posts. */
export interface ScalePlan {
  users: number;
  follows: number;
  posts: number;
  products: number;
  orders: number;
  orderItems: number;
}

export interface ScaleProgress {
  /** The table being written. */
  phase: string;
  /** Rows written so far, over every table. */
  done: number;
  total: number;
}

export interface ScaleResult extends ScalePlan {
  /** The password every seeded user shares. */
  password: string;
}

const DAY_MS = 86_400_000;
const BATCH_ROWS = 5_000;
const PRODUCT_STOCK = 1_000_000;

const followsOf = (user: number, users: number) => Math.min(users - 1, 1 + (user % 20));
const itemsOf = (order: number) => 1 + (order % 3);

/**
 * The shape of a marketplace with `posts` posts: one user per 100 posts (at
 * least 10), each following 1–20 others, one product per 1,000 posts (at
 * least 20), one order per 200 posts (at least 5) with 1–3 items each.
 */
export function planScale(posts: number): ScalePlan {
  const users = Math.max(10, Math.ceil(posts / 100));
  const products = Math.max(20, Math.ceil(posts / 1_000));
  const orders = Math.max(5, Math.ceil(posts / 200));
  let follows = 0;
  for (let u = 0; u < users; u++) follows += followsOf(u, users);
  let orderItems = 0;
  for (let o = 0; o < orders; o++) orderItems += itemsOf(o);
  return { users, follows, posts, products, orders, orderItems };
}

/**
 * Seeds a marketplace at scale for load and pagination work (see `planScale`).
 *
 * Every table is written with batched `INSERT … SELECT FROM unnest($1, $2, …)`
 * (one array parameter per column, so a batch costs one statement whatever
 * its size), the next batch being built while the previous one is written.
 * All users share one password hash. Timestamps lie in the past with distinct
 * milliseconds — users and products 400 to 365 days ago, posts and orders
 * spread evenly over the last 365 days — so keyset pagination on
 * (created_at, id) meets realistic data. Rows are generated oldest first, so
 * ids (monotonic per process) sort like created_at within each table. No
 * events are appended: the event log records live changes, not fixtures.
 * Adds to whatever is there; run twice, get twice the rows.
 */
export async function seedScale(container: Container, posts: number, onProgress: (progress: ScaleProgress) => void = () => {}): Promise<ScaleResult> {
  if (!Number.isInteger(posts) || posts < 1) throw new RangeError('posts must be a positive integer');
  const { db } = container.database;
  const plan = planScale(posts);
  const total = plan.users + plan.follows + plan.products + plan.posts + plan.orders + plan.orderItems;
  const password = 'demo-password';
  const hash = await createScryptHasher(container.config.passwordHashCost).hash(password);
  const runTag = randomBytes(3).toString('hex');
  const random = mulberry32(0x5eed + posts);
  const now = Date.now();
  let done = 0;
  const progress = (phase: string) => {
    onProgress({ phase, done, total });
    return (rows: number) => {
      done += rows;
      onProgress({ phase, done, total });
    };
  };

  // Users, 400 to 365 days ago.
  const userIds: string[] = new Array(plan.users);
  const userTimes: number[] = new Array(plan.users);
  const userStep = Math.max(1, Math.floor((35 * DAY_MS) / plan.users));
  await load(db, plan.users, progress('users'), (start, size) => {
    const cols: Columns = { id: [], email: [], name: [], password_hash: [], plan: [], created_at: [], updated_at: [] };
    for (let u = start; u < start + size; u++) {
      const at = now - 400 * DAY_MS + u * userStep;
      const id = newId('usr', at);
      userIds[u] = id;
      userTimes[u] = at;
      const iso = new Date(at).toISOString();
      cols.id!.push(id);
      cols.email!.push(`user${u + 1}.${runTag}@example.com`);
      cols.name!.push(`${FIRST_NAMES[u % FIRST_NAMES.length]} ${LAST_NAMES[Math.floor(u / FIRST_NAMES.length) % LAST_NAMES.length]}`);
      cols.password_hash!.push(hash);
      cols.plan!.push(PLANS[u % PLANS.length]!);
      cols.created_at!.push(iso);
      cols.updated_at!.push(iso);
    }
    return [{ table: 'users', columns: typed(cols, USER_TYPES) }];
  });

  // Follows: user u follows the next 1–20 users (never itself, never twice), a minute apart, after both joined.
  const followers: number[] = [];
  for (let u = 0; u < plan.users; u++) for (let s = 1; s <= followsOf(u, plan.users); s++) followers.push(u, (u + s) % plan.users, s);
  await load(db, plan.follows, progress('follows'), (start, size) => {
    const cols: Columns = { follower_id: [], following_id: [], created_at: [] };
    for (let f = start; f < start + size; f++) {
      const [u, v, s] = [followers[3 * f]!, followers[3 * f + 1]!, followers[3 * f + 2]!];
      cols.follower_id!.push(userIds[u]!);
      cols.following_id!.push(userIds[v]!);
      cols.created_at!.push(new Date(Math.max(userTimes[u]!, userTimes[v]!) + s * 60_000).toISOString());
    }
    return [{ table: 'follows', columns: typed(cols, FOLLOW_TYPES) }];
  });

  // Products, 380 to 365 days ago, alternating EUR and USD, with stock to spare.
  const productIds: string[] = new Array(plan.products);
  const productPrices: number[] = new Array(plan.products);
  const productStep = Math.max(1, Math.floor((15 * DAY_MS) / plan.products));
  await load(db, plan.products, progress('products'), (start, size) => {
    const cols: Columns = { id: [], name: [], description: [], category: [], price: [], currency: [], stock: [], created_at: [], updated_at: [] };
    for (let p = start; p < start + size; p++) {
      const at = now - 380 * DAY_MS + p * productStep;
      const id = newId('prd', at);
      const price = 99 + Math.floor(random() * 500) * 100;
      productIds[p] = id;
      productPrices[p] = price;
      const iso = new Date(at).toISOString();
      cols.id!.push(id);
      cols.name!.push(`${capitalise(pick(random, ADJECTIVES))} ${pick(random, PRODUCT_NOUNS)}`);
      cols.description!.push(sentence(random, 8, 20));
      cols.category!.push(CATEGORIES[p % CATEGORIES.length]!);
      cols.price!.push(price);
      cols.currency!.push(currencyOf(p));
      cols.stock!.push(PRODUCT_STOCK);
      cols.created_at!.push(iso);
      cols.updated_at!.push(iso);
    }
    return [{ table: 'products', columns: typed(cols, PRODUCT_TYPES) }];
  });

  // Posts over the last 365 days, one per `postStep` ms, oldest first. A few users write most of them.
  const postStep = Math.max(1, Math.floor((365 * DAY_MS) / plan.posts));
  await load(db, plan.posts, progress('posts'), (start, size) => {
    const cols: Columns = { id: [], author_id: [], title: [], content: [], created_at: [], updated_at: [] };
    for (let i = start; i < start + size; i++) {
      const at = now - (plan.posts - i) * postStep;
      const iso = new Date(at).toISOString();
      cols.id!.push(newId('pst', at));
      cols.author_id!.push(userIds[Math.floor(random() ** 2 * plan.users)]!);
      cols.title!.push(`${capitalise(pick(random, ADJECTIVES))} ${pick(random, NOUNS)} ${pick(random, TOPICS)}`);
      cols.content!.push(sentence(random, 12, 40));
      cols.created_at!.push(iso);
      cols.updated_at!.push(iso);
    }
    return [{ table: 'posts', columns: typed(cols, POST_TYPES) }];
  });

  // Pending orders over the last 365 days, each in one currency, total = Σ unit_price × quantity.
  const byCurrency = new Map<string, number[]>();
  for (let p = 0; p < plan.products; p++) byCurrency.set(currencyOf(p), [...(byCurrency.get(currencyOf(p)) ?? []), p]);
  const orderStep = Math.max(1, Math.floor((365 * DAY_MS) / plan.orders));
  await load(db, plan.orders, progress('orders'), (start, size) => {
    const orders: Columns = { id: [], user_id: [], total: [], currency: [], created_at: [], updated_at: [] };
    const items: Columns = { id: [], order_id: [], product_id: [], quantity: [], unit_price: [], currency: [], created_at: [] };
    for (let o = start; o < start + size; o++) {
      const at = now - (plan.orders - o) * orderStep + 1;
      const iso = new Date(at).toISOString();
      const currency = currencyOf(o);
      const catalogue = byCurrency.get(currency)!;
      const first = Math.floor(random() * catalogue.length);
      const orderId = newId('ord', at);
      let orderTotal = 0;
      for (let k = 0; k < itemsOf(o); k++) {
        const p = catalogue[(first + k) % catalogue.length]!;
        const quantity = 1 + Math.floor(random() * 5);
        orderTotal += productPrices[p]! * quantity;
        items.id!.push(newId('itm', at));
        items.order_id!.push(orderId);
        items.product_id!.push(productIds[p]!);
        items.quantity!.push(quantity);
        items.unit_price!.push(productPrices[p]!);
        items.currency!.push(currency);
        items.created_at!.push(iso);
      }
      orders.id!.push(orderId);
      orders.user_id!.push(userIds[Math.floor(random() * plan.users)]!);
      orders.total!.push(orderTotal);
      orders.currency!.push(currency);
      orders.created_at!.push(iso);
      orders.updated_at!.push(iso);
    }
    return [
      { table: 'orders', columns: typed(orders, ORDER_TYPES), constants: { status: "'pending'" } },
      { table: 'order_items', columns: typed(items, ITEM_TYPES) },
    ];
  });

  // Fresh statistics, so the planner picks the keyset indexes straight away instead of after autovacuum.
  onProgress({ phase: 'analyze', done, total });
  await sql`analyze users, follows, products, posts, orders, order_items`.execute(db);
  return { ...plan, password };
}

type Columns = Record<string, Array<string | number>>;
type PgType = 'text' | 'timestamptz' | 'bigint' | 'integer';
interface TypedColumn {
  name: string;
  type: PgType;
  values: Array<string | number>;
}
interface BatchInsert {
  table: 'users' | 'follows' | 'products' | 'posts' | 'orders' | 'order_items';
  columns: TypedColumn[];
  /** Columns with one SQL literal for every row. */
  constants?: Record<string, string>;
}

const USER_TYPES: Record<string, PgType> = { id: 'text', email: 'text', name: 'text', password_hash: 'text', plan: 'text', created_at: 'timestamptz', updated_at: 'timestamptz' };
const FOLLOW_TYPES: Record<string, PgType> = { follower_id: 'text', following_id: 'text', created_at: 'timestamptz' };
const PRODUCT_TYPES: Record<string, PgType> = {
  id: 'text',
  name: 'text',
  description: 'text',
  category: 'text',
  price: 'bigint',
  currency: 'text',
  stock: 'integer',
  created_at: 'timestamptz',
  updated_at: 'timestamptz',
};
const POST_TYPES: Record<string, PgType> = { id: 'text', author_id: 'text', title: 'text', content: 'text', created_at: 'timestamptz', updated_at: 'timestamptz' };
const ORDER_TYPES: Record<string, PgType> = { id: 'text', user_id: 'text', total: 'bigint', currency: 'text', created_at: 'timestamptz', updated_at: 'timestamptz' };
const ITEM_TYPES: Record<string, PgType> = {
  id: 'text',
  order_id: 'text',
  product_id: 'text',
  quantity: 'integer',
  unit_price: 'bigint',
  currency: 'text',
  created_at: 'timestamptz',
};

function typed(columns: Columns, types: Record<string, PgType>): TypedColumn[] {
  return Object.entries(columns).map(([name, values]) => ({ name, type: types[name]!, values }));
}

/** One statement for a whole batch: `INSERT INTO t (a, b) SELECT * FROM unnest($1::text[], $2::bigint[])`. */
async function insertBatch(db: Db, batch: BatchInsert): Promise<void> {
  const constants = Object.entries(batch.constants ?? {});
  const names = [...batch.columns.map((c) => c.name), ...constants.map(([name]) => name)];
  const arrays = batch.columns.map((c) => sql`${c.values}::${sql.raw(c.type)}[]`);
  const selected = [...batch.columns.map((c) => sql.ref(`u.${c.name}`)), ...constants.map(([, literal]) => sql.raw(literal))];
  await sql`insert into ${sql.table(batch.table)} (${sql.join(names.map((n) => sql.ref(n)))})
    select ${sql.join(selected)} from unnest(${sql.join(arrays)}) as u(${sql.join(batch.columns.map((c) => sql.ref(c.name)))})`.execute(db);
}

/**
 * Writes `count` rows (of the first table) in batches built by `make(start,
 * size)`; the next batch is built while the previous one is on its way to the
 * database. Reports every row written, dependent tables included.
 */
async function load(db: Db, count: number, onRows: (rows: number) => void, make: (start: number, size: number) => BatchInsert[]): Promise<void> {
  let pending: Promise<void> = Promise.resolve();
  for (let start = 0; start < count; start += BATCH_ROWS) {
    const size = Math.min(BATCH_ROWS, count - start);
    const batch = make(start, size);
    await pending;
    pending = (async () => {
      for (const insert of batch) await insertBatch(db, insert);
      onRows(batch.reduce((rows, insert) => rows + (insert.columns[0]?.values.length ?? 0), 0));
    })();
    pending.catch(() => {}); // awaited on the next turn or below; this only silences the unhandled-rejection warning meanwhile
  }
  await pending;
}

/** A small deterministic PRNG (mulberry32): the same scale gives the same texts and shapes. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const currencyOf = (n: number) => (n % 2 === 0 ? 'EUR' : 'USD');
const pick = <T>(random: () => number, list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
const capitalise = (word: string) => word[0]!.toUpperCase() + word.slice(1);

function sentence(random: () => number, min: number, max: number): string {
  const length = min + Math.floor(random() * (max - min + 1));
  const words: string[] = [];
  for (let i = 0; i < length; i++) words.push(pick(random, WORDS));
  return capitalise(words.join(' ')) + '.';
}

const PLANS = ['free', 'pro', 'enterprise'] as const;
const FIRST_NAMES = ['Ada', 'Alan', 'Barbara', 'Claude', 'Donald', 'Edsger', 'Frances', 'Grace', 'Hedy', 'John', 'Katherine', 'Ken', 'Margaret', 'Niklaus', 'Radia', 'Tim'];
const LAST_NAMES = ['Allen', 'Backus', 'Conway', 'Dijkstra', 'Engelbart', 'Floyd', 'Goldberg', 'Hamilton', 'Iverson', 'Johnson', 'Knuth', 'Liskov', 'McCarthy', 'Perlman', 'Ritchie', 'Thompson', 'Wirth'];
const CATEGORIES = ['books', 'hardware', 'clothing', 'kitchen', 'garden', 'toys', 'music', 'collectibles'];
const ADJECTIVES = ['quiet', 'bright', 'handmade', 'vintage', 'modern', 'small', 'practical', 'curious', 'sturdy', 'gentle', 'rare', 'local', 'simple', 'elegant'];
const NOUNS = ['thoughts', 'notes', 'lessons', 'questions', 'tips', 'stories', 'ideas', 'findings', 'plans', 'mistakes'];
const TOPICS = ['on gardening', 'about coffee', 'from the workshop', 'on databases', 'about travel', 'on typography', 'for beginners', 'on pottery', 'about bikes', 'from the market'];
const PRODUCT_NOUNS = ['lamp', 'mug', 'notebook', 'chair', 'kettle', 'scarf', 'poster', 'backpack', 'teapot', 'keyboard', 'vase', 'bicycle bell'];
const WORDS = [
  'the', 'a', 'market', 'today', 'we', 'made', 'new', 'coffee', 'shop', 'garden', 'light', 'wood', 'table', 'pages', 'river', 'morning',
  'people', 'friends', 'price', 'quality', 'simple', 'really', 'good', 'slow', 'quick', 'handmade', 'old', 'blue', 'green', 'paper', 'glass',
  'tried', 'found', 'bought', 'sold', 'shared', 'loved', 'learned', 'built', 'fixed', 'painted', 'with', 'from', 'for', 'and', 'about',
  'again', 'after', 'before', 'every', 'week', 'weekend', 'city', 'street', 'corner', 'window', 'story', 'photo', 'recipe', 'tool',
];
