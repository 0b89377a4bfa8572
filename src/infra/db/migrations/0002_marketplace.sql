-- The rest of the domain: follows, posts, comments, products, orders, order items, and the event log.
-- Every keyset order a list offers is backed by a composite index ending in id.

CREATE TABLE follows (
  follower_id  text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  following_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (follower_id, following_id),
  CHECK (follower_id <> following_id)
);
CREATE INDEX follows_following_idx ON follows (following_id, created_at, follower_id);
CREATE INDEX follows_follower_idx ON follows (follower_id, created_at, following_id);

CREATE INDEX users_name_id_idx ON users (name, id);

CREATE TABLE posts (
  id         text PRIMARY KEY,
  author_id  text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  title      text NOT NULL,
  content    text NOT NULL,
  likes      integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  version    integer NOT NULL DEFAULT 1,
  search     tsvector GENERATED ALWAYS AS (to_tsvector('english', title || ' ' || content)) STORED
);
CREATE INDEX posts_created_at_id_idx ON posts (created_at, id);
CREATE INDEX posts_author_created_at_id_idx ON posts (author_id, created_at, id);
CREATE INDEX posts_title_id_idx ON posts (title, id);
CREATE INDEX posts_likes_id_idx ON posts (likes, id);
CREATE INDEX posts_search_idx ON posts USING gin (search);

CREATE TABLE comments (
  id         text PRIMARY KEY,
  post_id    text NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
  author_id  text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  content    text NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  version    integer NOT NULL DEFAULT 1
);
CREATE INDEX comments_post_created_at_id_idx ON comments (post_id, created_at, id);

CREATE TABLE products (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  description text NOT NULL DEFAULT '',
  category    text NOT NULL,
  price       bigint NOT NULL CHECK (price >= 0),
  currency    text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  stock       integer NOT NULL CHECK (stock >= 0),
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  deleted_at  timestamptz,
  version     integer NOT NULL DEFAULT 1,
  search      tsvector GENERATED ALWAYS AS (to_tsvector('english', name || ' ' || description)) STORED
);
CREATE INDEX products_created_at_id_idx ON products (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX products_name_id_idx ON products (name, id) WHERE deleted_at IS NULL;
CREATE INDEX products_price_id_idx ON products (price, id) WHERE deleted_at IS NULL;
CREATE INDEX products_category_idx ON products (category, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX products_search_idx ON products USING gin (search);

CREATE TABLE orders (
  id         text PRIMARY KEY,
  user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  status     text NOT NULL CHECK (status IN ('pending', 'confirmed', 'shipped', 'delivered', 'cancelled')),
  total      bigint NOT NULL CHECK (total >= 0),
  currency   text NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  version    integer NOT NULL DEFAULT 1
);
CREATE INDEX orders_user_created_at_id_idx ON orders (user_id, created_at, id);
CREATE INDEX orders_created_at_id_idx ON orders (created_at, id);
CREATE INDEX orders_total_id_idx ON orders (total, id);

CREATE TABLE order_items (
  id         text PRIMARY KEY,
  order_id   text NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  product_id text NOT NULL REFERENCES products (id),
  quantity   integer NOT NULL CHECK (quantity > 0),
  unit_price bigint NOT NULL CHECK (unit_price >= 0),
  currency   text NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX order_items_order_idx ON order_items (order_id, created_at, id);

-- The event log (outbox). A row is appended in the same transaction as the change it records.
-- `audience` says who may read it: user ids, or '*' for everyone signed in; admins read all.
CREATE TABLE events (
  sequence      bigserial PRIMARY KEY,
  id            text NOT NULL UNIQUE,
  type          text NOT NULL,
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  data          jsonb NOT NULL,
  audience      text[] NOT NULL,
  created_at    timestamptz NOT NULL
);
CREATE INDEX events_audience_idx ON events USING gin (audience);
CREATE INDEX events_type_sequence_idx ON events (type, sequence);
CREATE INDEX events_created_at_sequence_idx ON events (created_at, sequence);
