-- A schedule being run is marked so no other run (in this or another process) starts
-- until it finishes: runs of one schedule never overlap.
ALTER TABLE function_schedules ADD COLUMN running_since TEXT;
