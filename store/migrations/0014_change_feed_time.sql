-- When each change was published (store/notify.go), in microseconds since the
-- Unix epoch on the publishing process's clock, so a replica can measure how
-- long a change took to reach it (schemagate_change_feed_delivery_lag_seconds).
-- Rows written before this migration, or by a process that does not set it,
-- have none; they are delivered as before, only not timed.
ALTER TABLE change_feed ADD COLUMN published_us BIGINT;
