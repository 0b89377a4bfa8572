/**
 * The GraphQL schema (SDL), written once here. `docs/schema.graphql` is the
 * published copy; `test/graphql.schema.test.ts` fails on a breaking change
 * that did not go through `@deprecated` first.
 */

const CONNECTION_ARGS = `first: Int, after: String, last: Int, before: String, orderBy: [Sort!]`;

/** A Relay connection and its edge for a node type. */
function connection(node: string, description: string, edgeFields = ''): string {
  return `
"""${description}"""
type ${node}Connection {
  edges: [${node}Edge!]!
  """The nodes of the edges, for clients that need no cursors."""
  nodes: [${node}!]!
  pageInfo: PageInfo!
  """The number of items the list holds across all its pages; computed only when selected (one more query)."""
  totalCount: Int!
}

type ${node}Edge {
  cursor: String!
  node: ${node}!${edgeFields}
}
`;
}

export const TYPE_DEFS = /* GraphQL */ `
"""An instant, RFC 3339 in UTC (\`2026-11-30T12:00:00.000Z\`)."""
scalar DateTime

"""An integer of up to 53 bits: money in minor units, amounts, sequences."""
scalar Long

"""Any JSON value (event data)."""
scalar JSON

"""Anything with a global id: the same prefixed id as REST (\`usr_…\`, \`pst_…\`, \`ord_…\`)."""
interface Node {
  id: ID!
}

"""Relay page information. \`startCursor\`/\`endCursor\` are null on an empty page."""
type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

enum SortDirection {
  ASC
  DESC
}

"""One sort term: a field the list allows (as REST's \`sort\`: \`createdAt\` or \`created_at\`) and a direction."""
input Sort {
  field: String!
  direction: SortDirection = ASC
}

"""A person. Others see the public profile: \`email\`, \`role\`, \`status\`, \`plan\` and the timestamps beyond \`createdAt\` are null to them."""
type User implements Node {
  id: ID!
  displayName: String!
  email: String
  role: String
  status: String
  plan: String
  emailVerifiedAt: DateTime
  createdAt: DateTime!
  updatedAt: DateTime
  """The user's posts, newest first by default (sorts: created_at, updated_at, title, likes)."""
  posts(${CONNECTION_ARGS}, createdAfter: DateTime, createdBefore: DateTime, q: String): PostConnection!
  """Who follows this user, most recent first."""
  followers(${CONNECTION_ARGS}): FollowConnection!
  """Whom this user follows, most recent first."""
  following(${CONNECTION_ARGS}): FollowConnection!
  followerCount: Int!
  followingCount: Int!
  """The user's orders (the user itself and administrators)."""
  orders(${CONNECTION_ARGS}, status: [String!], totalMin: Long, totalMax: Long, createdAfter: DateTime, createdBefore: DateTime): OrderConnection!
}
${connection('User', 'A page of users.')}

type Post implements Node {
  id: ID!
  title: String!
  content: String!
  likes: Int!
  createdAt: DateTime!
  updatedAt: DateTime!
  authorId: ID!
  author: User
  commentCount: Int!
  """The post's comments, oldest first."""
  comments(${CONNECTION_ARGS}): CommentConnection!
}
${connection('Post', 'A page of posts.')}

type Comment implements Node {
  id: ID!
  content: String!
  createdAt: DateTime!
  updatedAt: DateTime!
  postId: ID!
  post: Post
  authorId: ID!
  author: User
}
${connection('Comment', 'A page of comments.')}

"""One end of a follow: the other user, and when the follow began."""
type Follow {
  user: User!
  followedAt: DateTime!
}
${connection('Follow', 'A page of follows.')}

type Product implements Node {
  id: ID!
  name: String!
  description: String
  category: String!
  price: Long!
  currency: String!
  stock: Int!
  inStock: Boolean!
  createdAt: DateTime!
  updatedAt: DateTime!
}
${connection('Product', 'A page of products.')}

type Order implements Node {
  id: ID!
  userId: ID!
  user: User
  """pending, confirmed, shipped, delivered or cancelled."""
  status: String!
  total: Long!
  currency: String!
  createdAt: DateTime!
  updatedAt: DateTime!
  items: [OrderItem!]!
}
${connection('Order', 'A page of orders.')}

type OrderItem implements Node {
  id: ID!
  orderId: ID!
  productId: ID!
  """The product, or null once it left the catalogue."""
  product: Product
  quantity: Int!
  unitPrice: Long!
  total: Long!
  currency: String!
  createdAt: DateTime!
}

type Charge implements Node {
  id: ID!
  userId: ID!
  orderId: ID
  order: Order
  amount: Long!
  currency: String!
  source: String!
  description: String
  """pending, succeeded or failed."""
  status: String!
  failureCode: String
  createdAt: DateTime!
  updatedAt: DateTime!
}
${connection('Charge', 'A page of charges.')}

"""One of the caller's API keys (the secret is shown once, by createApiKey)."""
type ApiKey implements Node {
  id: ID!
  name: String!
  prefix: String!
  scopes: [String!]!
  apiVersion: String
  lastUsedAt: DateTime
  expiresAt: DateTime
  createdAt: DateTime!
}
${connection('ApiKey', 'A page of API keys.')}

"""One entry of the event log, as REST's /events shows it."""
type Event implements Node {
  id: ID!
  sequence: Long!
  type: String!
  resourceType: String!
  resourceId: ID!
  data: JSON!
  createdAt: DateTime!
}
${connection('Event', 'A page of events.')}

"""
An endpoint that receives the caller's events as signed webhooks (Standard
Webhooks). Its signing secret is shown only when created and when rotated.
"""
type WebhookEndpoint implements Node {
  id: ID!
  url: String!
  """Event types (\`charge.succeeded\`), families (\`order.*\`) or \`*\`."""
  eventTypes: [String!]!
  description: String
  """enabled or disabled (by the caller, or automatically after failing deliveries)."""
  status: String!
  createdAt: DateTime!
  updatedAt: DateTime!
}
${connection('WebhookEndpoint', 'A page of webhook endpoints.')}

type Query {
  """Any object by its id."""
  node(id: ID!): Node
  """The caller."""
  me: User!
  user(id: ID!): User
  """The user directory (administrators may filter by status, role, plan)."""
  users(${CONNECTION_ARGS}, status: [String!], role: [String!], plan: [String!]): UserConnection!
  post(id: ID!): Post
  """Posts, newest first by default."""
  posts(${CONNECTION_ARGS}, authorId: ID, createdAfter: DateTime, createdBefore: DateTime, q: String): PostConnection!
  """Posts by the people the caller follows, newest first."""
  feed(first: Int, after: String, last: Int, before: String): PostConnection!
  comment(id: ID!): Comment
  product(id: ID!): Product
  """The catalogue."""
  products(${CONNECTION_ARGS}, category: [String!], priceMin: Long, priceMax: Long, inStock: Boolean, q: String): ProductConnection!
  order(id: ID!): Order
  """The caller's orders (administrators: everyone's)."""
  orders(${CONNECTION_ARGS}, status: [String!], totalMin: Long, totalMax: Long, createdAfter: DateTime, createdBefore: DateTime): OrderConnection!
  orderItem(id: ID!): OrderItem
  charge(id: ID!): Charge
  """The caller's charges (administrators: everyone's)."""
  charges(${CONNECTION_ARGS}, status: [String!], orderId: ID): ChargeConnection!
  apiKey(id: ID!): ApiKey
  """The caller's API keys."""
  apiKeys(${CONNECTION_ARGS}): ApiKeyConnection!
  """The events the caller may see, oldest first; \`types\` takes types or families (\`order.*\`)."""
  events(${CONNECTION_ARGS}, types: [String!]): EventConnection!
  """One of the caller's webhook endpoints (scope webhooks:read)."""
  webhookEndpoint(id: ID!): WebhookEndpoint
  """The caller's webhook endpoints, newest first (scope webhooks:read)."""
  webhookEndpoints(${CONNECTION_ARGS}): WebhookEndpointConnection!
}

input SignUpInput {
  email: String!
  displayName: String!
  password: String!
}

input UpdateUserInput {
  email: String
  displayName: String
  password: String
  """Administrators only."""
  role: String
  """Administrators only."""
  status: String
  """Administrators only."""
  plan: String
}

input CreatePostInput {
  title: String!
  content: String!
}

input UpdatePostInput {
  title: String
  content: String
}

input CreateCommentInput {
  postId: ID!
  content: String!
}

input UpdateCommentInput {
  content: String!
}

input CreateProductInput {
  name: String!
  description: String
  category: String!
  price: Long!
  currency: String!
  stock: Int
}

input UpdateProductInput {
  name: String
  description: String
  category: String
  price: Long
  currency: String
  stock: Int
}

input OrderItemInput {
  productId: ID!
  quantity: Int!
}

input CreateOrderInput {
  items: [OrderItemInput!]!
}

input UpdateOrderStatusInput {
  """The next status: confirmed, shipped or delivered."""
  status: String!
}

input CreateChargeInput {
  amount: Long!
  currency: String!
  source: String!
  orderId: ID
  description: String
}

input CreateApiKeyInput {
  name: String!
  scopes: [String!]!
  expiresAt: DateTime
  apiVersion: String
}

input CreateWebhookEndpointInput {
  """http or https, to a public address."""
  url: String!
  """Event types (\`charge.succeeded\`), families (\`order.*\`) or \`*\`."""
  eventTypes: [String!]!
  description: String
}

input UpdateWebhookEndpointInput {
  url: String
  eventTypes: [String!]
  """null clears it."""
  description: String
  """enabled or disabled."""
  status: String
}

input RotateWebhookEndpointSecretInput {
  """How long the previous secret keeps signing, in seconds (default 86400; 0 retires it at once)."""
  expirePreviousAfterSeconds: Int
}

"""A webhook endpoint and its signing secret (whsec_…), shown this once."""
type WebhookEndpointWithSecret {
  webhookEndpoint: WebhookEndpoint!
  secret: String!
}

"""What a deletion removed."""
type DeletePayload {
  deletedId: ID!
}

"""A follow made or undone: the user followed (or no longer)."""
type FollowPayload {
  user: User!
}

"""A new API key and its secret, shown this once."""
type CreatedApiKey {
  apiKey: ApiKey!
  secret: String!
}

"""
Live changes over graphql-transport-ws on /graphql (the graphql-ws library),
fed by the event log: each delivers only what the caller may see.
"""
type Subscription {
  """Posts as they are created (by one author when \`authorId\` is given)."""
  postCreated(authorId: ID): Post!
  """Comments as they are added to one post."""
  commentAdded(postId: ID!): Comment!
  """The caller's orders (administrators: every order) when their status changes: confirmed, cancelled, shipped, delivered."""
  orderStatusChanged(orderId: ID): Order!
  """
  The events the caller may see, live; \`types\` takes types or families (\`order.*\`).
  With \`after\` (the \`sequence\` of the last event received) the events since then come first, with no gap and no duplicate.
  """
  events(types: [String!], after: String): Event!
}

type Mutation {
  signUp(input: SignUpInput!): User!
  updateUser(id: ID!, input: UpdateUserInput!): User!
  createPost(input: CreatePostInput!): Post!
  updatePost(id: ID!, input: UpdatePostInput!): Post!
  deletePost(id: ID!): DeletePayload!
  createComment(input: CreateCommentInput!): Comment!
  updateComment(id: ID!, input: UpdateCommentInput!): Comment!
  deleteComment(id: ID!): DeletePayload!
  follow(userId: ID!): FollowPayload!
  unfollow(userId: ID!): FollowPayload!
  """Administrators only."""
  createProduct(input: CreateProductInput!): Product!
  """Administrators only."""
  updateProduct(id: ID!, input: UpdateProductInput!): Product!
  """Administrators only."""
  deleteProduct(id: ID!): DeletePayload!
  """Requires an idempotency key: the \`idempotencyKey\` argument or the Idempotency-Key header (the same key as REST's)."""
  createOrder(input: CreateOrderInput!, idempotencyKey: String): Order!
  cancelOrder(id: ID!): Order!
  """Administrators only: moves an order one step along its fulfilment path."""
  updateOrderStatus(id: ID!, input: UpdateOrderStatusInput!): Order!
  """Requires an idempotency key: the \`idempotencyKey\` argument or the Idempotency-Key header (the same key as REST's)."""
  createCharge(input: CreateChargeInput!, idempotencyKey: String): Charge!
  createApiKey(input: CreateApiKeyInput!): CreatedApiKey!
  revokeApiKey(id: ID!): DeletePayload!
  """Scope webhooks:write. The secret is in this answer only."""
  createWebhookEndpoint(input: CreateWebhookEndpointInput!): WebhookEndpointWithSecret!
  """Scope webhooks:write."""
  updateWebhookEndpoint(id: ID!, input: UpdateWebhookEndpointInput!): WebhookEndpoint!
  """Scope webhooks:write."""
  deleteWebhookEndpoint(id: ID!): DeletePayload!
  """Scope webhooks:write. A new secret; the previous one keeps signing for a while (at most two sign)."""
  rotateWebhookEndpointSecret(id: ID!, input: RotateWebhookEndpointSecretInput): WebhookEndpointWithSecret!
}
`;
