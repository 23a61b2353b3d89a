-- BI views, identical on DuckDB and Snowflake. Facts join the dim_symbol version valid on
-- their trade date: f.trade_date >= d.valid_from AND f.trade_date < d.valid_to.
-- {materialized_view} is MATERIALIZED VIEW on Snowflake when enabled (single-table aggregate,
-- within Snowflake's materialized view restrictions), VIEW otherwise.

CREATE VIEW IF NOT EXISTS dim_symbol_current AS
SELECT symbol_key, symbol, name, asset_class, exchange, calendar, currency, timezone, sector,
       alphavantage_id, coingecko_id, yahoo_id, valid_from
FROM dim_symbol
WHERE is_current;

-- One row per trade date: market breadth over every symbol with a return that day.
CREATE {materialized_view} IF NOT EXISTS mart_daily_market_summary AS
SELECT trade_date,
       count(return_1d) AS symbols,
       sum(CASE WHEN return_1d > 0 THEN 1 ELSE 0 END) AS advancers,
       sum(CASE WHEN return_1d < 0 THEN 1 ELSE 0 END) AS decliners,
       avg(return_1d) AS avg_return_1d,
       min(return_1d) AS min_return_1d,
       max(return_1d) AS max_return_1d,
       avg(volatility_20d) AS avg_volatility_20d
FROM fact_risk
GROUP BY trade_date;

-- One row per (trade date, asset class, sector): returns and traded value by sector.
CREATE VIEW IF NOT EXISTS mart_daily_sector_summary AS
SELECT b.trade_date, d.asset_class, d.sector,
       count(*) AS symbols,
       avg(r.return_1d) AS avg_return_1d,
       sum(b.close * b.volume) AS traded_value
FROM fact_daily_bar b
JOIN dim_symbol d
  ON d.symbol = b.symbol AND b.trade_date >= d.valid_from AND b.trade_date < d.valid_to
LEFT JOIN fact_risk r ON r.symbol = b.symbol AND r.trade_date = b.trade_date
GROUP BY b.trade_date, d.asset_class, d.sector;

-- The five largest absolute daily moves of each trade date (move_rank 1 = largest).
CREATE VIEW IF NOT EXISTS mart_top_movers AS
SELECT trade_date, symbol, name, sector, close, return_1d, move_rank
FROM (
    SELECT r.trade_date, r.symbol, d.name, d.sector, b.close, r.return_1d,
           row_number() OVER (
               PARTITION BY r.trade_date ORDER BY abs(r.return_1d) DESC, r.symbol
           ) AS move_rank
    FROM fact_risk r
    JOIN fact_daily_bar b ON b.symbol = r.symbol AND b.trade_date = r.trade_date
    JOIN dim_symbol d
      ON d.symbol = r.symbol AND r.trade_date >= d.valid_from AND r.trade_date < d.valid_to
    WHERE r.return_1d IS NOT NULL
) ranked
WHERE move_rank <= 5;

-- VaR backtest rows: the VaR of a symbol's previous row is the forecast of this row's return;
-- an exception is return_1d < -forecast (docs/analytics.md, backtest_var).
CREATE VIEW IF NOT EXISTS mart_var_exceptions AS
SELECT symbol, trade_date, return_1d, var_95_forecast, var_99_forecast,
       return_1d < -var_95_forecast AS is_exception_95,
       return_1d < -var_99_forecast AS is_exception_99
FROM (
    SELECT symbol, trade_date, return_1d,
           lag(var_95_hist) OVER (PARTITION BY symbol ORDER BY trade_date) AS var_95_forecast,
           lag(var_99_hist) OVER (PARTITION BY symbol ORDER BY trade_date) AS var_99_forecast
    FROM fact_risk
) forecasts;

-- One row per symbol: its latest risk figures and the exceptions of its last 250 forecasts.
CREATE VIEW IF NOT EXISTS mart_risk_dashboard AS
WITH latest AS (
    SELECT symbol, max(trade_date) AS trade_date FROM fact_risk GROUP BY symbol
),
recent AS (
    SELECT symbol, is_exception_95, is_exception_99,
           row_number() OVER (PARTITION BY symbol ORDER BY trade_date DESC) AS age
    FROM mart_var_exceptions
    WHERE var_95_forecast IS NOT NULL AND return_1d IS NOT NULL
),
backtest AS (
    SELECT symbol, count(*) AS backtest_days,
           sum(CASE WHEN is_exception_95 THEN 1 ELSE 0 END) AS exceptions_95,
           sum(CASE WHEN is_exception_99 THEN 1 ELSE 0 END) AS exceptions_99
    FROM recent
    WHERE age <= 250
    GROUP BY symbol
)
SELECT l.symbol, d.name, d.asset_class, d.sector, l.trade_date,
       r.volatility_20d, r.volatility_60d,
       r.var_95_hist, r.var_99_hist, r.cvar_95_hist, r.cvar_99_hist,
       r.var_95_param, r.var_99_param,
       CAST(coalesce(b.backtest_days, 0) AS INTEGER) AS backtest_days,
       CAST(coalesce(b.exceptions_95, 0) AS INTEGER) AS exceptions_95,
       CAST(coalesce(b.exceptions_99, 0) AS INTEGER) AS exceptions_99
FROM latest l
JOIN fact_risk r ON r.symbol = l.symbol AND r.trade_date = l.trade_date
JOIN dim_symbol d
  ON d.symbol = l.symbol AND l.trade_date >= d.valid_from AND l.trade_date < d.valid_to
LEFT JOIN backtest b ON b.symbol = l.symbol;

-- Every fired signal with the symbol's attributes of that date and the day's close.
CREATE VIEW IF NOT EXISTS mart_signal_feed AS
SELECT s.trade_date, s.symbol, d.name, d.asset_class, d.sector, s.signal,
       CASE WHEN s.direction > 0 THEN 'bullish' ELSE 'bearish' END AS direction,
       s.value, b.close
FROM fact_signal s
JOIN dim_symbol d
  ON d.symbol = s.symbol AND s.trade_date >= d.valid_from AND s.trade_date < d.valid_to
LEFT JOIN fact_daily_bar b ON b.symbol = s.symbol AND b.trade_date = s.trade_date;
