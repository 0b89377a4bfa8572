-- Idempotency records belong to operations, not to URLs (one key, one side
-- effect, whichever transport carries the call). A record now keeps the
-- operation it ran, its transport-neutral outcome (the result in the API's
-- field names, or the refusal's registry code), and the rendering of the
-- transport that ran it, replayed as is to that transport; another transport
-- renders the outcome instead. The REST response columns become that rendering.
ALTER TABLE idempotency_keys
  ADD COLUMN operation text,
  ADD COLUMN outcome jsonb,
  ADD COLUMN transport text,
  ADD COLUMN rendering jsonb;

-- Records written before this migration: REST renderings. Their operation is
-- '' and their fingerprint the old one (method, URL and body), which REST
-- still recognises until they expire (one TTL, 24 h by default).
UPDATE idempotency_keys SET
  operation = '',
  transport = 'rest',
  rendering = jsonb_build_object('status', response_status, 'headers', response_headers, 'body', response_body, 'json', response_json),
  outcome = CASE
    WHEN response_status < 400 THEN jsonb_build_object('ok', true, 'value',
      CASE WHEN response_json THEN coalesce(response_body::jsonb -> 'data', response_body::jsonb) WHEN response_body = '' THEN 'null'::jsonb ELSE to_jsonb(response_body) END)
    WHEN response_json AND jsonb_typeof(response_body::jsonb -> 'code') = 'string' THEN jsonb_build_object('ok', false, 'error',
      jsonb_build_object('code', response_body::jsonb -> 'code', 'message', coalesce(response_body::jsonb -> 'detail', '""'::jsonb)))
    ELSE jsonb_build_object('ok', false, 'error', jsonb_build_object('code', 'BAD_REQUEST', 'message', ''))
  END;

ALTER TABLE idempotency_keys
  ALTER COLUMN operation SET NOT NULL,
  ALTER COLUMN outcome SET NOT NULL,
  ALTER COLUMN transport SET NOT NULL,
  ALTER COLUMN rendering SET NOT NULL,
  DROP COLUMN response_status,
  DROP COLUMN response_headers,
  DROP COLUMN response_body,
  DROP COLUMN response_json;
