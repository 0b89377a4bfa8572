-- The JWT signing keys of a deployment, shared by all its processes (unless
-- STOA_JWT_KEYS supplies them). The newest key with no verify_until signs;
-- every key whose verify_until is null or still ahead verifies and is
-- published in /.well-known/jwks.json. Rotation sets verify_until on the
-- previous key to when the last token it signed has expired.
CREATE TABLE signing_keys (
  kid text PRIMARY KEY,
  algorithm text NOT NULL,
  -- The public JWK (kty, crv, x), as published.
  public_jwk jsonb NOT NULL,
  -- The private JWK as JSON text. Never logged or served.
  private_key text NOT NULL,
  created_at timestamptz NOT NULL,
  activated_at timestamptz NOT NULL,
  verify_until timestamptz
);

-- At most one key signs at a time.
CREATE UNIQUE INDEX signing_keys_one_signer ON signing_keys ((true)) WHERE verify_until IS NULL;
