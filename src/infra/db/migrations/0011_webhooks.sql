-- Outbound webhooks (docs/webhooks.md): endpoints, one delivery per event and
-- endpoint, and the fan-out's position in the event log (the outbox reader).
CREATE TABLE webhook_endpoints (
  id text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users (id),
  url text NOT NULL,
  event_types text[] NOT NULL,
  description text,
  status text NOT NULL,
  -- Signing secrets: AES-256-GCM sealed when STOA_JWT_KEYS_ENCRYPTION_KEY is set, else as issued.
  secret text NOT NULL,
  previous_secret text,
  previous_secret_expires_at timestamptz,
  failing_since timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  deleted_at timestamptz
);
CREATE INDEX webhook_endpoints_user ON webhook_endpoints (user_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX webhook_endpoints_enabled ON webhook_endpoints (status) WHERE deleted_at IS NULL;

CREATE TABLE webhook_deliveries (
  id text PRIMARY KEY,
  endpoint_id text NOT NULL REFERENCES webhook_endpoints (id),
  event_id text NOT NULL,
  event_type text NOT NULL,
  body text NOT NULL,
  status text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  last_status_code integer,
  last_latency_ms integer,
  last_error text,
  next_attempt_at timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at, id);

CREATE TABLE webhook_fanout_cursor (
  name text PRIMARY KEY,
  sequence bigint NOT NULL,
  event_id text NOT NULL
);
-- Endpoints receive events from their creation on: the fan-out starts at the log's end.
INSERT INTO webhook_fanout_cursor (name, sequence, event_id)
SELECT 'webhooks', coalesce(max(sequence), 0), coalesce((SELECT id FROM events ORDER BY sequence DESC LIMIT 1), '') FROM events;
