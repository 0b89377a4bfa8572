-- User avatars (gRPC UserService/UploadAvatar, REST GET /v1/users/{id}/avatar):
-- one image per user, PNG or JPEG as its first bytes say, at most 2 MiB. The
-- ETag is the SHA-256 of the bytes, so an unchanged image keeps its ETag.
CREATE TABLE user_avatars (
  user_id       text PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  content_type  text NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg')),
  bytes         bytea NOT NULL CHECK (octet_length(bytes) <= 2097152),
  sha256        text NOT NULL,
  updated_at    timestamptz NOT NULL
);
