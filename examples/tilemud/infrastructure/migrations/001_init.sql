-- 001_init.sql: the baseline schema of TileMUD.
CREATE TABLE players (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rooms (
    id bigserial PRIMARY KEY,
    x int NOT NULL,
    y int NOT NULL,
    description text NOT NULL DEFAULT '',
    UNIQUE (x, y)
);
