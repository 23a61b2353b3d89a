-- Stale rows are shown, never silent (model.BAR_LINEAGE, docs/warehouse.md "Stale rows").
-- fact_daily_bar.changed_at: when the bar's values last changed in the warehouse (the load time
-- of a new or different bar; an identical reload keeps it). A derived row's bars_changed_at:
-- the newest changed_at among the bars its look-back covers (the symbol's bars up to its date,
-- or every symbol's for the portfolio facts) when the row was loaded. A row is stale when a bar
-- of its look-back changed after that: its recorded bars_changed_at is older than the current
-- watermark. Rows loaded before this migration keep nulls: unknown, older than any change.

ALTER TABLE fact_daily_bar ADD COLUMN IF NOT EXISTS changed_at TIMESTAMP;

ALTER TABLE fact_indicator ADD COLUMN IF NOT EXISTS bars_changed_at TIMESTAMP;

ALTER TABLE fact_signal ADD COLUMN IF NOT EXISTS bars_changed_at TIMESTAMP;

ALTER TABLE fact_risk ADD COLUMN IF NOT EXISTS bars_changed_at TIMESTAMP;

ALTER TABLE fact_portfolio_risk ADD COLUMN IF NOT EXISTS bars_changed_at TIMESTAMP;

ALTER TABLE fact_correlation ADD COLUMN IF NOT EXISTS bars_changed_at TIMESTAMP;

-- The watermark of a symbol's look-back on each of its bar dates.
CREATE VIEW IF NOT EXISTS bar_watermark AS
SELECT symbol, trade_date,
       max(changed_at) OVER (
           PARTITION BY symbol ORDER BY trade_date
           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
       ) AS bars_changed_at
FROM fact_daily_bar;

-- The watermark of every symbol's look-back on each bar date (the portfolio facts').
CREATE VIEW IF NOT EXISTS market_bar_watermark AS
SELECT trade_date,
       max(day_changed_at) OVER (
           ORDER BY trade_date ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
       ) AS bars_changed_at
FROM (SELECT trade_date, max(changed_at) AS day_changed_at FROM fact_daily_bar GROUP BY trade_date) d;

-- Every derived row computed from bars older than the warehouse's: one row per stale row
-- (symbol null for the portfolio facts), with the watermark it was computed at and the current.
CREATE VIEW IF NOT EXISTS stale_rows AS
SELECT 'fact_indicator' AS table_name, f.symbol, f.trade_date,
       f.bars_changed_at, w.bars_changed_at AS current_bars_changed_at
FROM fact_indicator f
JOIN bar_watermark w ON w.symbol = f.symbol AND w.trade_date = f.trade_date
WHERE w.bars_changed_at > f.bars_changed_at
   OR (f.bars_changed_at IS NULL AND w.bars_changed_at IS NOT NULL)
UNION ALL
SELECT 'fact_signal' AS table_name, f.symbol, f.trade_date,
       f.bars_changed_at, w.bars_changed_at AS current_bars_changed_at
FROM fact_signal f
JOIN bar_watermark w ON w.symbol = f.symbol AND w.trade_date = f.trade_date
WHERE w.bars_changed_at > f.bars_changed_at
   OR (f.bars_changed_at IS NULL AND w.bars_changed_at IS NOT NULL)
UNION ALL
SELECT 'fact_risk' AS table_name, f.symbol, f.trade_date,
       f.bars_changed_at, w.bars_changed_at AS current_bars_changed_at
FROM fact_risk f
JOIN bar_watermark w ON w.symbol = f.symbol AND w.trade_date = f.trade_date
WHERE w.bars_changed_at > f.bars_changed_at
   OR (f.bars_changed_at IS NULL AND w.bars_changed_at IS NOT NULL)
UNION ALL
SELECT 'fact_portfolio_risk' AS table_name, CAST(NULL AS VARCHAR) AS symbol, f.trade_date,
       f.bars_changed_at, w.bars_changed_at AS current_bars_changed_at
FROM fact_portfolio_risk f
JOIN market_bar_watermark w ON w.trade_date = f.trade_date
WHERE w.bars_changed_at > f.bars_changed_at
   OR (f.bars_changed_at IS NULL AND w.bars_changed_at IS NOT NULL)
UNION ALL
SELECT 'fact_correlation' AS table_name, CAST(NULL AS VARCHAR) AS symbol, f.trade_date,
       f.bars_changed_at, w.bars_changed_at AS current_bars_changed_at
FROM fact_correlation f
JOIN market_bar_watermark w ON w.trade_date = f.trade_date
WHERE w.bars_changed_at > f.bars_changed_at
   OR (f.bars_changed_at IS NULL AND w.bars_changed_at IS NOT NULL);
