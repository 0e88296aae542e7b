-- CleanMateX's init script (its document's infra/postgres/initdb/001-init.sql),
-- run once on new data as the official image runs /docker-entrypoint-initdb.d.

-- Create extensions
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
CREATE EXTENSION IF NOT EXISTS "pgcrypto";

-- Create roles
CREATE ROLE cmx_readonly;
GRANT CONNECT ON DATABASE cmx_db TO cmx_readonly;
GRANT USAGE ON SCHEMA public TO cmx_readonly;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO cmx_readonly;

-- Performance settings
ALTER SYSTEM SET shared_buffers = '256MB';
ALTER SYSTEM SET effective_cache_size = '1GB';
ALTER SYSTEM SET maintenance_work_mem = '64MB';
ALTER SYSTEM SET checkpoint_completion_target = 0.9;
ALTER SYSTEM SET wal_buffers = '16MB';
ALTER SYSTEM SET default_statistics_target = 100;
ALTER SYSTEM SET random_page_cost = 1.1;
