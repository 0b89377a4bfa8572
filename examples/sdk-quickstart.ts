/**
 * The SDK end to end: sign in, list products, place an order (retried safely
 * under one idempotency key), pay for it, and follow the events it causes.
 *
 *   npm start                                   # a Stoa on http://localhost:3000, with demo products
 *   node --import tsx examples/sdk-quickstart.ts
 *
 * Environment: STOA_URL (default http://localhost:3000); STOA_EMAIL and
 * STOA_PASSWORD to sign in as someone (else a new user signs up).
 */
import { createStoa, StoaError } from '@stoa/sdk';

const baseUrl = process.env.STOA_URL ?? 'http://localhost:3000';
const anonymous = createStoa({ baseUrl });

// 1. Sign in (signing up first when no account is given).
let email = process.env.STOA_EMAIL;
let password = process.env.STOA_PASSWORD;
if (!email || !password) {
  email = `sdk-example-${Date.now()}@example.com`;
  password = 'correct horse battery staple';
  await anonymous.users.create({ email, display_name: 'SDK example', password });
  console.log(`signed up ${email}`);
}
const { data: tokens } = await anonymous.auth.login({ email, password });
const stoa = anonymous.withOptions({
  accessToken: tokens.access_token,
  maxRetries: 3,
  onRetry: ({ retry, delayMs, status }) => console.log(`  retry ${retry} in ${delayMs} ms (after ${status ?? 'a network error'})`),
});
console.log(`signed in as ${(await stoa.users.me()).data.display_name}`);

// 2. List products in stock, every page.
const products = await stoa.products.list({ in_stock: true, sort: 'price', limit: 20 }).toArray({ max: 100 });
console.log(`${products.length} products in stock; the cheapest: ${products[0]?.name ?? '(none)'}`);
const product = products[0];
if (!product) throw new Error('No product in stock: seed some (npm run stoa -- seed) and run again');

// Follow events from here on: take the newest sequence, then stream what comes after it.
const newest = (await stoa.events.list({ sort: '-sequence', limit: 1 })).data[0];
const follow = AbortSignal.timeout(20_000);
const stream = stoa.events.stream({ types: ['order.*', 'charge.*'], after: newest?.sequence ?? 0, signal: follow });

// 3. Place an order. The SDK sends one Idempotency-Key and reuses it on every retry: one order, however many attempts.
const order = await stoa.orders.create({ items: [{ product_id: product.id, quantity: 1 }] });
console.log(`order ${order.data.id}: ${order.data.total} ${order.data.currency}, ${order.attempts} attempt(s), request ${order.requestId}`);

// 4. Pay for it.
try {
  const charge = await stoa.charges.create({ amount: order.data.total, currency: order.data.currency, source: 'tok_visa', order_id: order.data.id });
  console.log(`charge ${charge.data.id}: ${charge.data.status}`);
} catch (error) {
  if (error instanceof StoaError) console.error(`payment refused: ${error.code} (${error.detail}), request ${error.requestId}`);
  throw error;
}

// 5. Follow the events until the order is confirmed (the stream reconnects on its own if the connection drops).
let confirmed = false;
for await (const event of stream) {
  console.log(`event ${event.sequence} ${event.type} ${event.resource_id}`);
  if (event.type === 'order.confirmed' && event.resource_id === order.data.id) {
    confirmed = true;
    break;
  }
}
if (!confirmed) {
  console.error('no order.confirmed within 20 s');
  process.exit(1);
}
console.log('done');
