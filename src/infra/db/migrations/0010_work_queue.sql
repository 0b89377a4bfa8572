-- The durable work queue every worker process shares (src/workers/).
-- A worker claims due items in a short transaction (FOR UPDATE SKIP LOCKED),
-- marks them running under a lease (locked_until) it renews while it works,
-- and settles them afterwards; no transaction is held while the work runs.
-- An item whose lease has expired (its worker died, even by kill -9) is due
-- again and another worker takes it over.
CREATE TABLE work_items (
  id text PRIMARY KEY,
  kind text NOT NULL,
  -- A unique name for items that must exist once (periodic work: 'periodic:<name>').
  unique_key text UNIQUE,
  -- Items of one group (a webhook endpoint) are bounded in flight together.
  group_key text,
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- queued | running | done | failed | parked
  state text NOT NULL,
  run_at timestamptz NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  locked_by text,
  locked_until timestamptz,
  last_error text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);

-- Due work: queued items by due time; running ones by lease expiry.
CREATE INDEX work_items_queued ON work_items (run_at) WHERE state = 'queued';
CREATE INDEX work_items_running ON work_items (locked_until) WHERE state = 'running';
CREATE INDEX work_items_group ON work_items (group_key, state) WHERE group_key IS NOT NULL;
