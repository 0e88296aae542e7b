-- 001_agents.sql: agents and the documents they remember, with embeddings.
CREATE TABLE agents (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memories (
    id bigserial PRIMARY KEY,
    agent_id bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    body text NOT NULL,
    embedding vector(3) NOT NULL
);
