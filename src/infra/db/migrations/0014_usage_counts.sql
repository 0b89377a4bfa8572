-- Usage counts behind GET /v1/usage (docs/usage.md). Every process counts its
-- answered requests in memory and adds them here in batches, one row per
-- minute, caller, API key, API version and status class: an upsert adds to
-- the row, so processes and restarts add up. Only authenticated requests are
-- counted; `api_key_id` is '' for a signed-in session, `rate_limit_policy` the
-- policy that refused a 429 ('' otherwise).
CREATE TABLE usage_counts (
  bucket       timestamptz NOT NULL,
  user_id      text NOT NULL,
  api_key_id   text NOT NULL,
  api_version  text NOT NULL,
  status_class text NOT NULL,
  rate_limit_policy text NOT NULL,
  count        bigint NOT NULL,
  PRIMARY KEY (user_id, bucket, api_key_id, api_version, status_class, rate_limit_policy)
);
CREATE INDEX usage_counts_bucket ON usage_counts (bucket);
