import type { ColumnType, Generated } from 'kysely';

/** Kysely's view of the tables in migrations/. */
export interface Database {
  users: UsersTable;
  api_keys: ApiKeysTable;
  refresh_tokens: RefreshTokensTable;
  schema_migrations: SchemaMigrationsTable;
  follows: FollowsTable;
  posts: PostsTable;
  comments: CommentsTable;
  products: ProductsTable;
  orders: OrdersTable;
  order_items: OrderItemsTable;
  events: EventsTable;
  idempotency_keys: IdempotencyKeysTable;
  charges: ChargesTable;
  processor_events: ProcessorEventsTable;
  signing_keys: SigningKeysTable;
  email_verifications: EmailVerificationsTable;
  realtime_tickets: RealtimeTicketsTable;
  work_items: WorkItemsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_fanout_cursor: WebhookFanoutCursorTable;
  jobs: JobsTable;
  usage_counts: UsageCountsTable;
}

type Timestamp = ColumnType<Date, Date, Date>;
type NullableTimestamp = ColumnType<Date | null, Date | null | undefined, Date | null>;

export interface UsersTable {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  role: 'user' | 'admin';
  status: ColumnType<'active' | 'inactive' | 'suspended', 'active' | 'inactive' | 'suspended' | undefined, 'active' | 'inactive' | 'suspended'>;
  plan: 'free' | 'pro' | 'enterprise';
  email_verified_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: NullableTimestamp;
  version: Generated<number>;
}

export interface ApiKeysTable {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  secret_hash: string;
  scopes: string[];
  api_version: string | null;
  last_used_at: NullableTimestamp;
  expires_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  created_at: Timestamp;
}

export interface RefreshTokensTable {
  id: string;
  user_id: string;
  family_id: string;
  token_hash: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  rotated_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

export interface SchemaMigrationsTable {
  name: string;
  applied_at: Timestamp;
}

export interface FollowsTable {
  follower_id: string;
  following_id: string;
  created_at: Timestamp;
}

export interface PostsTable {
  id: string;
  author_id: string;
  title: string;
  content: string;
  likes: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
  version: Generated<number>;
}

export interface CommentsTable {
  id: string;
  post_id: string;
  author_id: string;
  content: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  version: Generated<number>;
}

export interface ProductsTable {
  id: string;
  name: string;
  description: string;
  category: string;
  price: number;
  currency: string;
  stock: number;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: NullableTimestamp;
  version: Generated<number>;
}

export type OrderStatusColumn = 'pending' | 'confirmed' | 'shipped' | 'delivered' | 'cancelled';

export interface OrdersTable {
  id: string;
  user_id: string;
  status: OrderStatusColumn;
  total: number;
  currency: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  version: Generated<number>;
}

export interface OrderItemsTable {
  id: string;
  order_id: string;
  product_id: string;
  quantity: number;
  unit_price: number;
  currency: string;
  created_at: Timestamp;
}

export interface EventsTable {
  sequence: Generated<number>;
  id: string;
  type: string;
  resource_type: string;
  resource_id: string;
  data: ColumnType<Record<string, unknown>, string, string>;
  audience: string[];
  created_at: Timestamp;
}

export interface IdempotencyKeysTable {
  principal: string;
  key: string;
  fingerprint: string;
  /** The operation's name (`orders.create`); '' for records written before migration 0008. */
  operation: string;
  /** RecordedOutcome as JSON. */
  outcome: ColumnType<unknown, string, string>;
  transport: string;
  /** The rendering of `transport`, as JSON. */
  rendering: ColumnType<unknown, string, string>;
  completed_at: Timestamp;
  expires_at: Timestamp;
}

export interface ChargesTable {
  id: string;
  user_id: string;
  order_id: string | null;
  amount: number;
  currency: string;
  source: string;
  description: string | null;
  status: ColumnType<'pending' | 'succeeded' | 'failed', 'pending' | 'succeeded' | 'failed' | undefined, 'pending' | 'succeeded' | 'failed'>;
  failure_code: string | null;
  submitted_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
  version: Generated<number>;
}

export interface ProcessorEventsTable {
  webhook_id: string;
  type: string;
  charge_id: string | null;
  payload: string;
  received_at: Timestamp;
}

export interface SigningKeysTable {
  kid: string;
  algorithm: string;
  public_jwk: ColumnType<Record<string, unknown>, string, string>;
  /** The private JWK as JSON text; never logged or served. */
  private_key: string;
  created_at: Timestamp;
  activated_at: Timestamp;
  verify_until: NullableTimestamp;
}

export interface EmailVerificationsTable {
  id: string;
  user_id: string;
  email: string;
  token_hash: string;
  expires_at: Timestamp;
  created_at: Timestamp;
}

export interface RealtimeTicketsTable {
  ticket_hash: string;
  user_id: string;
  principal: ColumnType<Record<string, unknown>, string, string>;
  credential_expires_at: NullableTimestamp;
  expires_at: Timestamp;
  created_at: Timestamp;
}

/** The work queue (migration 0010, src/workers/). */
export interface WorkItemsTable {
  id: string;
  kind: string;
  unique_key: string | null;
  group_key: string | null;
  payload: ColumnType<Record<string, unknown>, string | undefined, string>;
  state: 'queued' | 'running' | 'done' | 'failed' | 'parked';
  run_at: Timestamp;
  attempts: Generated<number>;
  locked_by: string | null;
  locked_until: NullableTimestamp;
  last_error: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** Outbound webhooks (migration 0011). */
export interface WebhookEndpointsTable {
  id: string;
  user_id: string;
  url: string;
  event_types: string[];
  description: string | null;
  status: 'enabled' | 'disabled';
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: NullableTimestamp;
  failing_since: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: NullableTimestamp;
}

export interface WebhookDeliveriesTable {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  body: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  last_status_code: number | null;
  last_latency_ms: number | null;
  last_error: string | null;
  next_attempt_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface WebhookFanoutCursorTable {
  name: string;
  sequence: ColumnType<number, number, number>;
  event_id: string;
}

/** Jobs (migration 0012). */
export interface JobsTable {
  id: string;
  user_id: string;
  type: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  progress: number;
  params: ColumnType<Record<string, unknown>, string, string>;
  state: ColumnType<Record<string, unknown>, string | undefined, string>;
  result: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  error: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  callback_url: string | null;
  callback_secret: string | null;
  created_at: Timestamp;
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
  updated_at: Timestamp;
}

/** Per-minute usage counts (migration 0014), added to in batches by every process. */
export interface UsageCountsTable {
  bucket: Timestamp;
  user_id: string;
  api_key_id: string;
  api_version: string;
  status_class: string;
  rate_limit_policy: string;
  count: ColumnType<string | number, number, number>;
}
