-- A tiny world to walk around in after `berth up` or `berth reset`.
INSERT INTO rooms (x, y, description) VALUES
    (0, 0, 'The town square'),
    (0, 1, 'A narrow lane');
INSERT INTO players (name, room_id) VALUES ('wanderer', 1);
