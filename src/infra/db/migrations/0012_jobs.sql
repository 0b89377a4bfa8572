-- Long-running jobs (reports): the job a client polls, with the state of its
-- steps so that a worker restart resumes from the last committed step.
CREATE TABLE jobs (
  id text PRIMARY KEY,
  user_id text NOT NULL REFERENCES users (id),
  type text NOT NULL,
  status text NOT NULL,
  progress integer NOT NULL DEFAULT 0,
  params jsonb NOT NULL,
  -- The steps' accumulated state (position, partial totals).
  state jsonb NOT NULL DEFAULT '{}'::jsonb,
  result jsonb,
  error jsonb,
  callback_url text,
  -- Sealed like webhook secrets (AES-256-GCM when STOA_JWT_KEYS_ENCRYPTION_KEY is set).
  callback_secret text,
  created_at timestamptz NOT NULL,
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz NOT NULL
);
CREATE INDEX jobs_user ON jobs (user_id, created_at);
