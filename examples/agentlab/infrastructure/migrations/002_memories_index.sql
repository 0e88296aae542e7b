-- 002_memories_index.sql: nearest-neighbour search over the embeddings.
CREATE INDEX memories_embedding ON memories USING ivfflat (embedding vector_l2_ops) WITH (lists = 1);
