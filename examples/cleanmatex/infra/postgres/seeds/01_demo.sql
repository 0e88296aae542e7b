-- A demo laundry with one order, after `berth up` on a new database or
-- `berth reset`.
INSERT INTO tenants (name) VALUES ('Demo Laundry');
INSERT INTO orders (tenant_id, customer)
    SELECT id, 'Ada' FROM tenants WHERE name = 'Demo Laundry';
INSERT INTO order_items (order_id, garment, quantity, photo_key)
    SELECT id, 'shirt', 3, 'samples/shirt.txt' FROM orders WHERE customer = 'Ada';
