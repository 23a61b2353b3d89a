-- Session completeness of fact_daily_bar (model.SESSION_COMPLETENESS): bar_count of the
-- session's session_minutes were delivered; missing_minutes > 0 marks an incomplete session.
-- Rows loaded before this migration keep nulls until their range is loaded again.

ALTER TABLE fact_daily_bar ADD COLUMN IF NOT EXISTS bar_count BIGINT;

ALTER TABLE fact_daily_bar ADD COLUMN IF NOT EXISTS session_minutes BIGINT;

ALTER TABLE fact_daily_bar ADD COLUMN IF NOT EXISTS missing_minutes BIGINT;
