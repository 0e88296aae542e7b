-- 001_init.sql: tenants and the orders they take.
CREATE TABLE tenants (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
    name text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    customer text NOT NULL,
    status text NOT NULL DEFAULT 'received'
        CHECK (status IN ('received', 'washing', 'ready', 'delivered')),
    created_at timestamptz NOT NULL DEFAULT now()
);
