-- Idempotency keys are held by the transaction that runs the request (a
-- transaction-scoped advisory lock), no longer by an in-flight row with a lease:
-- a record is written once, completed, in the same transaction as the business
-- change. In-flight rows left by the old scheme belong to no one now.
DELETE FROM idempotency_keys WHERE state <> 'completed';

ALTER TABLE idempotency_keys
  DROP COLUMN state,
  DROP COLUMN owner,
  DROP COLUMN claimed_at,
  DROP COLUMN locked_until,
  ALTER COLUMN response_status SET NOT NULL,
  ALTER COLUMN response_headers SET NOT NULL,
  ALTER COLUMN response_body SET NOT NULL,
  ALTER COLUMN response_json SET NOT NULL,
  ALTER COLUMN completed_at SET NOT NULL;

-- Takes a key for the calling transaction: the advisory lock `lock_id` (a
-- 64-bit hash of principal and key, computed by the application). Without
-- `wait`, a key held by another transaction raises lock_not_available (55P03)
-- at once. It also bounds every later statement of the transaction, so a stuck
-- request cannot hold its key forever. Called in the same simple query as
-- BEGIN (integer and boolean arguments only), it costs no round trip.
CREATE FUNCTION stoa_hold_idempotency_key(lock_id bigint, statement_timeout_ms integer, wait boolean) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF wait THEN
    PERFORM pg_advisory_xact_lock(lock_id);
  ELSIF NOT pg_try_advisory_xact_lock(lock_id) THEN
    RAISE EXCEPTION 'idempotency key held by another transaction' USING ERRCODE = 'lock_not_available';
  END IF;
  PERFORM set_config('statement_timeout', statement_timeout_ms::text, true);
END $$;
