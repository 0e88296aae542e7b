-- 002_player_positions.sql: where each player stands.
ALTER TABLE players ADD COLUMN room_id bigint REFERENCES rooms (id);
