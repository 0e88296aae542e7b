-- Two memories of a demo agent, to search after `berth up` or `berth reset`.
INSERT INTO agents (name) VALUES ('librarian');
INSERT INTO memories (agent_id, body, embedding)
    SELECT id, 'books are on the second floor', '[1, 0, 0]'::vector FROM agents WHERE name = 'librarian'
    UNION ALL
    SELECT id, 'the cafe opens at nine', '[0, 1, 0]'::vector FROM agents WHERE name = 'librarian';
