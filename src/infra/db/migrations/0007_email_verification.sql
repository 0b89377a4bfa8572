-- Email verification (POST /v1/users/{id}/verify-email): at most one outstanding
-- token per user, stored only as its SHA-256. The token itself reaches the user
-- once, in a user.verification_requested event; a row is deleted when its token
-- is used, and a new request replaces it.
CREATE TABLE email_verifications (
  id          text PRIMARY KEY,
  user_id     text NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
  -- The address the token verifies: changing the email makes the token useless.
  email       text NOT NULL,
  token_hash  text NOT NULL UNIQUE,
  expires_at  timestamptz NOT NULL,
  created_at  timestamptz NOT NULL
);
