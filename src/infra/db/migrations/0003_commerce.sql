-- Commerce: keyset orders a user's order list offers beyond newest-first.
-- (orders_user_created_at_id_idx in 0002 already serves the default sort.)
CREATE INDEX orders_user_total_id_idx ON orders (user_id, total, id);
