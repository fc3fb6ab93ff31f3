-- Placeholder for migration 0013, which another branch adds: versions must run
-- without gaps. Delete this file when that branch's 0013 is merged.
SELECT 1;
