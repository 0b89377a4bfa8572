-- Idempotency keys (PRODUCT.md §6), charges and the payment processor's inbound events.

-- One record per (principal, key). A request claims the key in a short transaction
-- (state in_flight, a lease in locked_until), then writes its response here in the
-- same transaction as its business change (state completed).
CREATE TABLE idempotency_keys (
  principal        text NOT NULL,
  key              text NOT NULL,
  fingerprint      text NOT NULL,
  state            text NOT NULL CHECK (state IN ('in_flight', 'completed')),
  owner            text NOT NULL,
  claimed_at       timestamptz NOT NULL,
  locked_until     timestamptz NOT NULL,
  response_status  integer,
  response_headers jsonb,
  response_body    text,
  response_json    boolean,
  completed_at     timestamptz,
  expires_at       timestamptz NOT NULL,
  PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);

CREATE TABLE charges (
  id           text PRIMARY KEY,
  user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  order_id     text REFERENCES orders (id) ON DELETE SET NULL,
  amount       bigint NOT NULL CHECK (amount > 0),
  currency     text NOT NULL,
  source       text NOT NULL,
  description  text,
  status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  failure_code text,
  -- When the charge was last handed to the processor; pending charges handed over long ago are handed over again.
  submitted_at timestamptz,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  version      integer NOT NULL DEFAULT 1
);
CREATE INDEX charges_user_created_at_id_idx ON charges (user_id, created_at, id);
CREATE INDEX charges_created_at_id_idx ON charges (created_at, id);
CREATE INDEX charges_amount_id_idx ON charges (amount, id);
CREATE INDEX charges_pending_idx ON charges (submitted_at) WHERE status = 'pending';

-- Every signed event the payment processor delivered, raw, once per webhook-id.
CREATE TABLE processor_events (
  webhook_id  text PRIMARY KEY,
  type        text NOT NULL,
  charge_id   text,
  payload     text NOT NULL,
  received_at timestamptz NOT NULL
);
