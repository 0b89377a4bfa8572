import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { PASSWORD, uniqueEmail } from './helpers/app.ts';
import { gql, gqlData, GRAPHQL_RESPONSE } from './helpers/graphql.ts';
import { world, READ_SCOPES, WRITE_SCOPES, type World } from './helpers/world.ts';

const NO_USER = 'usr_00000000000000000000000000';

describe('GraphQL over HTTP (/graphql)', () => {
  let w: World;
  before(async () => {
    w = await world();
  });
  after(() => w.close());

  it('answers a POST query as application/graphql-response+json when accepted, application/json otherwise', async () => {
    const { res, body } = await gql(w.app, '{ me { id displayName email } }', { headers: w.ada.auth });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/graphql-response\+json/);
    assert.deepEqual((body.data as { me: unknown }).me, { id: w.ada.id, displayName: 'Ada', email: w.ada.email });
    const plain = await gql(w.app, '{ me { id } }', { headers: w.ada.auth, accept: 'application/json' });
    assert.equal(plain.res.statusCode, 200);
    assert.match(String(plain.res.headers['content-type']), /^application\/json/);
  });

  it('runs a query by GET, and refuses a mutation by GET with 405 and Allow: POST, running nothing', async () => {
    const query = encodeURIComponent('{ me { displayName } }');
    const res = await w.app.inject({ method: 'GET', url: `/graphql?query=${query}`, headers: { ...w.ada.auth, accept: GRAPHQL_RESPONSE } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().data.me.displayName, 'Ada');
    const mutation = encodeURIComponent('mutation { createPost(input: {title: "by GET", content: "no"}) { id } }');
    const refused = await w.app.inject({ method: 'GET', url: `/graphql?query=${mutation}`, headers: { ...w.ada.auth, accept: GRAPHQL_RESPONSE } });
    assert.equal(refused.statusCode, 405);
    assert.equal(refused.headers.allow, 'POST');
    const posts = await gqlData<{ posts: { nodes: Array<{ title: string }> } }>(w.app, '{ posts(first: 100) { nodes { title } } }', { headers: w.ada.auth });
    assert.ok(!posts.posts.nodes.some((p) => p.title === 'by GET'));
  });

  it('refuses a batch (a JSON array of operations) with 400', async () => {
    const res = await w.app.inject({
      method: 'POST',
      url: '/graphql',
      headers: { ...w.ada.auth, 'content-type': 'application/json', accept: GRAPHQL_RESPONSE },
      payload: JSON.stringify([{ query: '{ me { id } }' }, { query: '{ me { id } }' }]),
    });
    assert.equal(res.statusCode, 400);
    assert.ok(res.json().errors.length >= 1);
  });

  it('answers a syntax error with 400 and GRAPHQL_PARSE_FAILED (200 with application/json), without data', async () => {
    const { res, body } = await gql(w.app, '{ me { id ', { headers: w.ada.auth });
    assert.equal(res.statusCode, 400);
    assert.equal(body.data, undefined);
    assert.equal(body.errors?.[0]?.extensions.code, 'GRAPHQL_PARSE_FAILED');
    const plain = await gql(w.app, '{ me { id ', { headers: w.ada.auth, accept: 'application/json' });
    assert.equal(plain.res.statusCode, 200);
    assert.equal(plain.body.errors?.[0]?.extensions.code, 'GRAPHQL_PARSE_FAILED');
  });

  it('answers an unknown field with 400 GRAPHQL_VALIDATION_FAILED', async () => {
    const { res, body } = await gql(w.app, '{ me { nope } }', { headers: w.ada.auth });
    assert.equal(res.statusCode, 400);
    assert.equal(body.errors?.[0]?.extensions.code, 'GRAPHQL_VALIDATION_FAILED');
  });

  it('refuses a bad credential before execution, as REST does (401 INVALID_TOKEN); no credential is UNAUTHENTICATED on the fields that need one', async () => {
    const bad = await gql(w.app, '{ me { id } }', { headers: { authorization: 'Bearer not-a-token' } });
    assert.equal(bad.res.statusCode, 401);
    assert.match(String(bad.res.headers['www-authenticate']), /^Bearer/);
    const anonymous = await gql(w.app, '{ me { id } }');
    assert.equal(anonymous.res.statusCode, 200);
    assert.equal(anonymous.body.data, null);
    assert.equal(anonymous.body.errors?.[0]?.extensions.code, 'UNAUTHENTICATED');
    assert.deepEqual(anonymous.body.errors?.[0]?.path, ['me']);
  });

  it('takes an API key by X-API-Key and by Authorization: Bearer', async () => {
    const key = await w.apiKey(w.ada, READ_SCOPES);
    assert.equal((await gqlData<{ me: { id: string } }>(w.app, '{ me { id } }', { headers: key })).me.id, w.ada.id);
    assert.equal((await gqlData<{ me: { id: string } }>(w.app, '{ me { id } }', { headers: { authorization: `Bearer ${key['x-api-key']}` } })).me.id, w.ada.id);
  });
});

describe('GraphQL schema: lookups, nodes and errors', () => {
  let w: World;
  let product: string;
  let adaOrder: string;
  let post: string;
  before(async () => {
    w = await world();
    product = await w.product({ price: 700, stock: 50 });
    adaOrder = (await w.order(w.ada, [{ product_id: product, quantity: 2 }])).id;
    post = await w.post(w.ada, { title: 'Lookup', content: 'me' });
  });
  after(() => w.close());

  it('looks up a user: the full record for itself, the public profile for others', async () => {
    const own = await gqlData<{ user: Record<string, unknown> }>(w.app, `{ user(id: "${w.ada.id}") { id displayName email role plan createdAt } }`, { headers: w.ada.auth });
    assert.equal(own.user.email, w.ada.email);
    assert.equal(own.user.role, 'user');
    const other = await gqlData<{ user: Record<string, unknown> }>(w.app, `{ user(id: "${w.ada.id}") { id displayName email role plan } }`, { headers: w.bob.auth });
    assert.deepEqual(other.user, { id: w.ada.id, displayName: 'Ada', email: null, role: null, plan: null });
  });

  it('answers null with a NOT_FOUND error for an unknown id, and for an order the caller may not see', async () => {
    const unknown = await gql(w.app, `{ user(id: "${NO_USER}") { id } }`, { headers: w.ada.auth });
    assert.equal(unknown.res.statusCode, 200);
    assert.deepEqual(unknown.body.data, { user: null });
    assert.equal(unknown.body.errors?.[0]?.extensions.code, 'NOT_FOUND');
    assert.deepEqual(unknown.body.errors?.[0]?.path, ['user']);
    const foreign = await gql(w.app, `{ order(id: "${adaOrder}") { id total } }`, { headers: w.bob.auth });
    assert.deepEqual(foreign.body.data, { order: null });
    assert.equal(foreign.body.errors?.[0]?.extensions.code, 'NOT_FOUND');
  });

  it('resolves any id through node(id:), as the type its prefix names', async () => {
    const data = await gqlData<Record<string, { __typename: string; id: string }>>(
      w.app,
      `{ u: node(id: "${w.ada.id}") { __typename id } p: node(id: "${post}") { __typename id } o: node(id: "${adaOrder}") { __typename id ... on Order { total items { quantity product { id } } } } pr: node(id: "${product}") { __typename ... on Product { price inStock } } }`,
      { headers: w.ada.auth },
    );
    assert.equal(data.u!.__typename, 'User');
    assert.equal(data.p!.__typename, 'Post');
    assert.equal(data.o!.__typename, 'Order');
    assert.deepEqual(data.o, { __typename: 'Order', id: adaOrder, total: 1400, items: [{ quantity: 2, product: { id: product } }] });
    assert.deepEqual(data.pr, { __typename: 'Product', price: 700, inStock: true });
    const missing = await gql(w.app, '{ node(id: "zzz_1") { id } }', { headers: w.ada.auth });
    assert.deepEqual(missing.body.data, { node: null });
    assert.equal(missing.body.errors?.[0]?.extensions.code, 'NOT_FOUND');
    const foreign = await gql(w.app, `{ node(id: "${adaOrder}") { id } }`, { headers: w.bob.auth });
    assert.equal(foreign.body.errors?.[0]?.extensions.code, 'NOT_FOUND');
  });

  it('applies API-key scopes per field: a key without users:read reads posts but not their authors', async () => {
    const key = await w.apiKey(w.ada, ['posts:read']);
    const { body } = await gql(w.app, `{ post(id: "${post}") { title author { displayName } } }`, { headers: key });
    assert.deepEqual(body.data, { post: { title: 'Lookup', author: null } });
    assert.equal(body.errors?.length, 1);
    assert.equal(body.errors?.[0]?.extensions.code, 'INSUFFICIENT_SCOPE');
    assert.equal(body.errors?.[0]?.extensions.required_scope, 'users:read');
    assert.deepEqual(body.errors?.[0]?.path, ['post', 'author']);
    const orders = await gql(w.app, `{ order(id: "${adaOrder}") { id } }`, { headers: key });
    assert.equal(orders.body.errors?.[0]?.extensions.code, 'INSUFFICIENT_SCOPE');
  });

  it('reports validation errors with extensions.code and extensions.fields (GraphQL field names, the domain field codes)', async () => {
    const create = 'mutation($input: CreatePostInput!) { createPost(input: $input) { id } }';
    const blank = await gql(w.app, create, { headers: w.ada.auth, variables: { input: { title: '   ', content: 'x'.repeat(20_001) } } });
    assert.equal(blank.res.statusCode, 200);
    assert.equal(blank.body.errors?.[0]?.extensions.code, 'VALIDATION_FAILED');
    assert.deepEqual(blank.body.errors?.[0]?.extensions.fields?.map((f) => `${f.field}:${f.code}`).sort(), ['content:too_long', 'title:too_short']);
    // Refused by the input type itself (variable coercion, before execution): 400, the same vocabulary.
    const typed = await gql(w.app, create, { headers: w.ada.auth, variables: { input: { title: 5, extra: true } } });
    assert.equal(typed.res.statusCode, 400);
    assert.equal(typed.body.data, undefined);
    assert.equal(typed.body.errors?.[0]?.extensions.code, 'VALIDATION_FAILED');
    assert.deepEqual(typed.body.errors?.[0]?.extensions.fields?.map((f) => `${f.field}:${f.code}`).sort(), ['content:required', 'extra:unknown_field', 'title:invalid_type']);
    const order = await gql(w.app, 'mutation($input: CreateOrderInput!) { createOrder(input: $input, idempotencyKey: "k-fields") { id } }', {
      headers: w.ada.auth,
      variables: { input: { items: [{ productId: product, quantity: 0 }] } },
    });
    assert.deepEqual(order.body.errors?.[0]?.extensions.fields?.map((f) => `${f.field}:${f.code}`), ['items.0.quantity:out_of_range']);
  });

  it('answers an unexpected failure as INTERNAL_ERROR without its details, and the other fields still resolve', async () => {
    const posts = w.t.container.posts;
    const original = posts.get.bind(posts);
    posts.get = async () => {
      throw new Error('connection to 10.0.0.7 refused: secret detail');
    };
    try {
      const { res, body } = await gql(w.app, `{ post(id: "${post}") { id } me { displayName } }`, { headers: w.ada.auth });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(body.data, { post: null, me: { displayName: 'Ada' } });
      assert.equal(body.errors?.[0]?.extensions.code, 'INTERNAL_ERROR');
      assert.doesNotMatch(res.body, /secret|10\.0\.0\.7/);
    } finally {
      posts.get = original;
    }
  });

  it('serialises timestamps as RFC 3339 and refuses a malformed DateTime argument as invalid_format', async () => {
    const data = await gqlData<{ post: { createdAt: string } }>(w.app, `{ post(id: "${post}") { createdAt } }`, { headers: w.ada.auth });
    assert.match(data.post.createdAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const { res, body } = await gql(w.app, 'query($after: DateTime) { posts(createdAfter: $after) { nodes { id } } }', { headers: w.ada.auth, variables: { after: 'yesterday' } });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(body.errors?.[0]?.extensions.fields?.map((f) => `${f.field}:${f.code}`), ['after:invalid_format']);
  });
});

describe('GraphQL connections (Relay, from the pagination core)', () => {
  let w: World;
  const titles: string[] = [];
  before(async () => {
    w = await world();
    for (let i = 0; i < 7; i++) {
      titles.push(`p${i}`);
      await w.post(w.bob, { title: `p${i}`, content: 'c' });
    }
  });
  after(() => w.close());

  type Page = { edges: Array<{ cursor: string; node: { title: string } }>; pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null }; totalCount?: number };
  const page = async (args: string, extra = '') =>
    (await gqlData<{ user: { posts: Page } }>(w.app, `{ user(id: "${w.bob.id}") { posts(${args}) { ${extra} edges { cursor node { title } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`, { headers: w.ada.auth })).user.posts;

  it('walks forward with first/after and backward with last/before, with accurate pageInfo', async () => {
    const one = await page('first: 3, orderBy: [{field: "createdAt", direction: ASC}]', 'totalCount');
    assert.deepEqual(one.edges.map((e) => e.node.title), ['p0', 'p1', 'p2']);
    assert.equal(one.totalCount, 7);
    assert.deepEqual([one.pageInfo.hasNextPage, one.pageInfo.hasPreviousPage], [true, false]);
    assert.equal(one.pageInfo.endCursor, one.edges[2]!.cursor.length > 0 ? one.pageInfo.endCursor : null);
    const two = await page(`first: 3, after: "${one.pageInfo.endCursor}", orderBy: [{field: "createdAt", direction: ASC}]`);
    assert.deepEqual(two.edges.map((e) => e.node.title), ['p3', 'p4', 'p5']);
    assert.deepEqual([two.pageInfo.hasNextPage, two.pageInfo.hasPreviousPage], [true, true]);
    // Any edge's cursor continues after that edge.
    const fromEdge = await page(`first: 1, after: "${two.edges[0]!.cursor}", orderBy: [{field: "createdAt", direction: ASC}]`);
    assert.deepEqual(fromEdge.edges.map((e) => e.node.title), ['p4']);
    const back = await page(`last: 2, before: "${two.pageInfo.startCursor}", orderBy: [{field: "createdAt", direction: ASC}]`);
    assert.deepEqual(back.edges.map((e) => e.node.title), ['p1', 'p2']);
    assert.deepEqual([back.pageInfo.hasNextPage, back.pageInfo.hasPreviousPage], [true, true]);
  });

  it('reads the end of a list with last alone', async () => {
    const tail = await page('last: 2, orderBy: [{field: "createdAt", direction: ASC}]');
    assert.deepEqual(tail.edges.map((e) => e.node.title), ['p5', 'p6']);
    assert.deepEqual([tail.pageInfo.hasNextPage, tail.pageInfo.hasPreviousPage], [false, true]);
    const before = await page(`last: 10, before: "${tail.pageInfo.startCursor}", orderBy: [{field: "createdAt", direction: ASC}]`);
    assert.deepEqual(before.edges.map((e) => e.node.title), ['p0', 'p1', 'p2', 'p3', 'p4']);
    assert.equal(before.pageInfo.hasPreviousPage, false);
  });

  it('answers an empty page with null start and end cursors', async () => {
    const empty = await gqlData<{ user: { posts: Page } }>(w.app, `{ user(id: "${w.ada.id}") { posts(first: 5) { edges { cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`, { headers: w.ada.auth });
    assert.deepEqual(empty.user.posts, { edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null } });
  });

  it('refuses page sizes outside 1..100, first with last, an unknown sort and a cursor of another list', async () => {
    const refused = async (args: string) => {
      const { body } = await gql(w.app, `{ posts(${args}) { nodes { id } } }`, { headers: w.ada.auth });
      assert.equal(body.data, null, args);
      return body.errors![0]!.extensions;
    };
    assert.equal((await refused('first: 101')).code, 'INVALID_PARAMETER');
    assert.equal((await refused('first: 101')).fields?.[0]?.field, 'first');
    assert.equal((await refused('first: -1')).code, 'INVALID_PARAMETER');
    assert.equal((await refused('last: 0')).fields?.[0]?.field, 'last');
    assert.equal((await refused('first: 2, last: 2')).code, 'INVALID_PARAMETER');
    assert.equal((await refused('orderBy: [{field: "password"}]')).fields?.[0]?.field, 'sort');
    const other = await page('first: 1');
    assert.equal((await refused(`first: 1, after: "${other.pageInfo.endCursor}"`)).code, 'INVALID_CURSOR');
    assert.equal((await refused('first: 1, after: "garbage"')).code, 'INVALID_CURSOR');
  });

  it('shares cursors with REST for the same collection', async () => {
    const rest = await w.app.inject({ method: 'GET', url: `/v2/users/${w.bob.id}/posts?limit=2&sort=created_at`, headers: w.ada.auth });
    assert.equal(rest.statusCode, 200, rest.body);
    const cursor = rest.json().pagination.next_cursor as string;
    const next = await page(`first: 2, after: "${cursor}", orderBy: [{field: "created_at"}]`);
    assert.deepEqual(next.edges.map((e) => e.node.title), ['p2', 'p3']);
  });
});

describe('GraphQL DataLoader: relations cost a constant number of SQL queries', () => {
  let w: World;
  before(async () => {
    w = await world();
    const authors = [w.ada, w.bob, await w.newUser('Cleo'), await w.newUser('Dan')];
    for (let i = 0; i < 100; i++) {
      const id = await w.post(authors[i % authors.length]!, { title: `t${i}`, content: 'c' });
      if (i % 10 === 0) await w.comment(w.bob, id, 'hello');
    }
  });
  after(() => w.close());

  const QUERY = (n: number) => `{ posts(first: ${n}) { edges { node { title author { displayName } commentCount } } } }`;
  const queriesFor = async (n: number) => {
    // Warm up: the signing keys, the principal's row.
    await gqlData(w.app, QUERY(1), { headers: w.ada.auth });
    const before = w.t.queries();
    const data = await gqlData<{ posts: { edges: Array<{ node: { author: { displayName: string }; commentCount: number } }> } }>(w.app, QUERY(n), { headers: w.ada.auth });
    assert.equal(data.posts.edges.length, n);
    return { used: w.t.queries() - before, data };
  };

  it('a page of 100 posts with authors and comment counts is as many queries as a page of 5 (and at most 4)', async () => {
    const small = await queriesFor(5);
    const large = await queriesFor(100);
    assert.equal(large.used, small.used, `5 posts: ${small.used} queries, 100 posts: ${large.used}`);
    assert.ok(large.used <= 4, `used ${large.used} queries`);
    const names = new Set(large.data.posts.edges.map((e) => e.node.author.displayName));
    assert.deepEqual([...names].sort(), ['Ada', 'Bob', 'Cleo', 'Dan']);
    assert.equal(large.data.posts.edges.reduce((sum, e) => sum + e.node.commentCount, 0), 10);
  });
});

describe('GraphQL mutations (the same services, the same idempotency keys as REST)', () => {
  let w: World;
  let product: string;
  before(async () => {
    w = await world();
    product = await w.product({ price: 300, stock: 1000 });
  });
  after(() => w.close());

  const CREATE_ORDER = 'mutation($input: CreateOrderInput!, $key: String) { createOrder(input: $input, idempotencyKey: $key) { id status total user { id } items { productId quantity unitPrice total } } }';
  const ordersOf = async (userId: string) =>
    Number((await w.t.container.database.db.selectFrom('orders').select((eb) => eb.fn.countAll().as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow()).n);

  it('signs up without a credential, then the new user can sign in', async () => {
    const email = uniqueEmail('gql');
    const data = await gqlData<{ signUp: { id: string; email: string; displayName: string } }>(w.app, 'mutation($i: SignUpInput!) { signUp(input: $i) { id email displayName } }', {
      variables: { i: { email, displayName: 'Gee', password: PASSWORD } },
    });
    assert.match(data.signUp.id, /^usr_/);
    const login = await w.app.inject({ method: 'POST', url: '/v2/auth/login', payload: { email, password: PASSWORD } });
    assert.equal(login.statusCode, 200);
  });

  it('creates, edits and deletes a post and a comment with the authorization of REST', async () => {
    const created = await gqlData<{ createPost: { id: string } }>(w.app, 'mutation { createPost(input: {title: "G", content: "Q"}) { id } }', { headers: w.ada.auth });
    const id = created.createPost.id;
    const forbidden = await gql(w.app, `mutation { updatePost(id: "${id}", input: {title: "hijack"}) { id } }`, { headers: w.bob.auth });
    assert.equal(forbidden.body.errors?.[0]?.extensions.code, 'FORBIDDEN');
    const edited = await gqlData<{ updatePost: { title: string; content: string } }>(w.app, `mutation { updatePost(id: "${id}", input: {title: "G2"}) { title content } }`, { headers: w.ada.auth });
    assert.deepEqual(edited.updatePost, { title: 'G2', content: 'Q' });
    const comment = await gqlData<{ createComment: { id: string; post: { id: string }; author: { id: string } } }>(
      w.app,
      `mutation { createComment(input: {postId: "${id}", content: "nice"}) { id post { id } author { id } } }`,
      { headers: w.bob.auth },
    );
    assert.deepEqual(comment.createComment.post, { id });
    assert.deepEqual(comment.createComment.author, { id: w.bob.id });
    assert.deepEqual(await gqlData(w.app, `mutation { deletePost(id: "${id}") { deletedId } }`, { headers: w.ada.auth }), { deletePost: { deletedId: id } });
    const gone = await gql(w.app, `{ post(id: "${id}") { id } }`, { headers: w.ada.auth });
    assert.equal(gone.body.errors?.[0]?.extensions.code, 'NOT_FOUND');
  });

  it('follows and unfollows; following oneself names the userId argument', async () => {
    const followed = await gqlData<{ follow: { user: { id: string; followerCount: number } } }>(w.app, `mutation { follow(userId: "${w.bob.id}") { user { id followerCount } } }`, { headers: w.ada.auth });
    assert.deepEqual(followed.follow.user, { id: w.bob.id, followerCount: 1 });
    const self = await gql(w.app, `mutation { follow(userId: "${w.ada.id}") { user { id } } }`, { headers: w.ada.auth });
    assert.deepEqual(self.body.errors?.[0]?.extensions.fields?.map((f) => `${f.field}:${f.code}`), ['userId:cannot_follow_self']);
    const unfollowed = await gqlData<{ unfollow: { user: { followerCount: number } } }>(w.app, `mutation { unfollow(userId: "${w.bob.id}") { user { followerCount } } }`, { headers: w.ada.auth });
    assert.equal(unfollowed.unfollow.user.followerCount, 0);
  });

  it('lets only administrators manage products', async () => {
    const input = '{name: "Mug", category: "kitchen", price: 1250, currency: "EUR", stock: 3}';
    const refused = await gql(w.app, `mutation { createProduct(input: ${input}) { id } }`, { headers: w.ada.auth });
    assert.equal(refused.body.errors?.[0]?.extensions.code, 'FORBIDDEN');
    const made = await gqlData<{ createProduct: { id: string; inStock: boolean; price: number } }>(w.app, `mutation { createProduct(input: ${input}) { id inStock price } }`, { headers: w.admin.auth });
    assert.equal(made.createProduct.price, 1250);
    assert.equal(made.createProduct.inStock, true);
  });

  it('requires an idempotency key for createOrder and createCharge (argument or Idempotency-Key header)', async () => {
    const user = await w.newUser();
    const missing = await gql(w.app, CREATE_ORDER, { headers: user.auth, variables: { input: { items: [{ productId: product, quantity: 1 }] } } });
    assert.equal(missing.body.errors?.[0]?.extensions.code, 'IDEMPOTENCY_KEY_REQUIRED');
    const charge = await gql(w.app, 'mutation { createCharge(input: {amount: 100, currency: "EUR", source: "tok_visa"}) { id } }', { headers: user.auth });
    assert.equal(charge.body.errors?.[0]?.extensions.code, 'IDEMPOTENCY_KEY_REQUIRED');
    const tooLong = await gql(w.app, CREATE_ORDER, { headers: user.auth, variables: { key: 'k'.repeat(256), input: { items: [{ productId: product, quantity: 1 }] } } });
    assert.equal(tooLong.body.errors?.[0]?.extensions.code, 'IDEMPOTENCY_KEY_INVALID');
    assert.equal(await ordersOf(user.id), 0);
    const byHeader = await gql(w.app, CREATE_ORDER, { headers: { ...user.auth, 'idempotency-key': randomUUID() }, variables: { input: { items: [{ productId: product, quantity: 1 }] } } });
    assert.equal(byHeader.body.errors, undefined, JSON.stringify(byHeader.body.errors));
    assert.equal(await ordersOf(user.id), 1);
  });

  it('replays a createOrder with the same key: one order; the same key with another input is IDEMPOTENCY_KEY_REUSED', async () => {
    const user = await w.newUser();
    const key = randomUUID();
    const input = { items: [{ productId: product, quantity: 2 }] };
    const first = await gqlData<{ createOrder: { id: string; total: number; items: unknown[] } }>(w.app, CREATE_ORDER, { headers: user.auth, variables: { key, input } });
    const second = await gqlData<{ createOrder: { id: string; total: number; items: unknown[] } }>(w.app, CREATE_ORDER, { headers: user.auth, variables: { key, input } });
    assert.deepEqual(second, first);
    assert.equal(first.createOrder.total, 600);
    const other = await gql(w.app, CREATE_ORDER, { headers: user.auth, variables: { key, input: { items: [{ productId: product, quantity: 3 }] } } });
    assert.equal(other.body.errors?.[0]?.extensions.code, 'IDEMPOTENCY_KEY_REUSED');
    assert.equal(await ordersOf(user.id), 1);
  });

  it('the same key and input used earlier over REST returns the same order over GraphQL (and the other way round)', async () => {
    const user = await w.newUser();
    const key = randomUUID();
    const rest = await w.app.inject({ method: 'POST', url: '/v2/orders', headers: { ...user.auth, 'idempotency-key': key }, payload: { items: [{ product_id: product, quantity: 4 }] } });
    assert.equal(rest.statusCode, 201, rest.body);
    const graph = await gqlData<{ createOrder: { id: string; status: string; total: number; user: { id: string }; items: Array<Record<string, unknown>> } }>(w.app, CREATE_ORDER, {
      headers: user.auth,
      variables: { key, input: { items: [{ productId: product, quantity: 4 }] } },
    });
    assert.equal(graph.createOrder.id, rest.json().data.id);
    assert.deepEqual(graph.createOrder.items, [{ productId: product, quantity: 4, unitPrice: 300, total: 1200 }]);
    assert.deepEqual(graph.createOrder.user, { id: user.id });
    assert.equal(await ordersOf(user.id), 1);

    const key2 = randomUUID();
    const first = await gqlData<{ createOrder: { id: string } }>(w.app, CREATE_ORDER, { headers: user.auth, variables: { key: key2, input: { items: [{ productId: product, quantity: 1 }] } } });
    const replay = await w.app.inject({ method: 'POST', url: '/v2/orders', headers: { ...user.auth, 'idempotency-key': key2 }, payload: { items: [{ product_id: product, quantity: 1 }] } });
    assert.equal(replay.statusCode, 201, replay.body);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(replay.json().data.id, first.createOrder.id);
    assert.equal(await ordersOf(user.id), 2);
  });

  it('a refusal recorded under a key (OUT_OF_STOCK) is answered again, with no order', async () => {
    const user = await w.newUser();
    const scarce = await w.product({ stock: 1 });
    const key = randomUUID();
    const input = { items: [{ productId: scarce, quantity: 5 }] };
    const first = await gql(w.app, CREATE_ORDER, { headers: user.auth, variables: { key, input } });
    assert.equal(first.body.errors?.[0]?.extensions.code, 'OUT_OF_STOCK');
    assert.deepEqual(first.body.errors?.[0]?.extensions.fields?.map((f) => f.field), ['items.0.productId']);
    const again = await gql(w.app, CREATE_ORDER, { headers: user.auth, variables: { key, input } });
    assert.equal(again.body.errors?.[0]?.extensions.code, 'OUT_OF_STOCK');
    assert.equal(await ordersOf(user.id), 0);
  });

  it('creates a charge with a key and cancels an order', async () => {
    const key = await w.apiKey(w.ada, WRITE_SCOPES);
    const charge = await gqlData<{ createCharge: { id: string; status: string; amount: number } }>(w.app, 'mutation { createCharge(input: {amount: 10000000000, currency: "EUR", source: "tok_visa"}, idempotencyKey: "c-1") { id status amount } }', { headers: key });
    assert.equal(charge.createCharge.amount, 10_000_000_000);
    const order = await w.order(w.ada, [{ product_id: product, quantity: 1 }]);
    const cancelled = await gqlData<{ cancelOrder: { status: string } }>(w.app, `mutation { cancelOrder(id: "${order.id}") { status } }`, { headers: w.ada.auth });
    assert.equal(cancelled.cancelOrder.status, 'cancelled');
    const again = await gql(w.app, `mutation { cancelOrder(id: "${order.id}") { status } }`, { headers: w.ada.auth });
    assert.equal(again.body.errors?.[0]?.extensions.code, 'INVALID_STATE_TRANSITION');
    assert.equal(again.body.errors?.[0]?.extensions.current_status, 'cancelled');
  });

  it('creates an API key, shows its secret once, lists and revokes it', async () => {
    const made = await gqlData<{ createApiKey: { secret: string; apiKey: { id: string; scopes: string[] } } }>(w.app, 'mutation { createApiKey(input: {name: "ci", scopes: ["posts:read"]}) { secret apiKey { id scopes } } }', { headers: w.bob.auth });
    assert.match(made.createApiKey.secret, /^sk_/);
    const listed = await gqlData<{ apiKeys: { nodes: Array<{ id: string }> } }>(w.app, '{ apiKeys { nodes { id } } }', { headers: w.bob.auth });
    assert.ok(listed.apiKeys.nodes.some((k) => k.id === made.createApiKey.apiKey.id));
    await gqlData(w.app, `mutation { revokeApiKey(id: "${made.createApiKey.apiKey.id}") { deletedId } }`, { headers: w.bob.auth });
    const revoked = await gql(w.app, '{ me { id } }', { headers: { 'x-api-key': made.createApiKey.secret } });
    assert.equal(revoked.res.statusCode, 401);
  });
});
