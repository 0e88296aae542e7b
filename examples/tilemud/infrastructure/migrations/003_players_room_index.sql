-- berth:no-transaction
-- 003_players_room_index.sql: built without blocking writes.
CREATE INDEX CONCURRENTLY players_room ON players (room_id);
