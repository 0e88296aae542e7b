-- 002_order_items.sql: what an order holds; photos live in object storage.
CREATE TABLE order_items (
    id bigserial PRIMARY KEY,
    order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    garment text NOT NULL,
    quantity int NOT NULL CHECK (quantity > 0),
    photo_key text
);
