-- Real-time tickets (POST /v1/realtime/tickets): browsers cannot set headers on
-- EventSource or WebSocket, so they trade their credential for a single-use
-- ticket valid 60 seconds. Only the ticket's SHA-256 is stored, with the
-- principal it stands for (scopes included); redeeming deletes the row.
CREATE TABLE realtime_tickets (
  ticket_hash           text PRIMARY KEY,
  user_id               text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  principal             jsonb NOT NULL,
  -- When the credential behind the ticket expires (an access token); null for none.
  credential_expires_at timestamptz,
  expires_at            timestamptz NOT NULL,
  created_at            timestamptz NOT NULL
);
CREATE INDEX realtime_tickets_expires_at ON realtime_tickets (expires_at);
