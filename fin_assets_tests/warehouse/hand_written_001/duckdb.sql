-- The star schema: the SCD2 symbol dimension, the date dimension and the facts.
-- Tables only ever get CREATE TABLE IF NOT EXISTS here; later changes are new migrations.
-- Facts declare no PRIMARY KEY on DuckDB: its enforcing index makes bulk loads about 10 times
-- and range re-runs about 50 times slower (BENCHMARKS.md). As on Snowflake, where keys are not
-- enforced, each load checks its keys and replaces whole ranges; the assets check uniqueness.

CREATE TABLE IF NOT EXISTS dim_symbol (
    symbol_key BIGINT NOT NULL PRIMARY KEY,
    symbol VARCHAR NOT NULL,
    name VARCHAR,
    asset_class VARCHAR,
    exchange VARCHAR,
    calendar VARCHAR,
    currency VARCHAR,
    timezone VARCHAR,
    sector VARCHAR,
    alphavantage_id VARCHAR,
    coingecko_id VARCHAR,
    yahoo_id VARCHAR,
    attributes_hash VARCHAR NOT NULL,
    valid_from DATE NOT NULL,
    valid_to DATE NOT NULL,
    is_current BOOLEAN NOT NULL
);

CREATE TABLE IF NOT EXISTS dim_date (
    date_key INTEGER NOT NULL PRIMARY KEY,
    date DATE NOT NULL,
    year INTEGER NOT NULL,
    quarter INTEGER NOT NULL,
    month INTEGER NOT NULL,
    month_name VARCHAR NOT NULL,
    day INTEGER NOT NULL,
    day_of_week INTEGER NOT NULL,
    day_name VARCHAR NOT NULL,
    iso_week INTEGER NOT NULL,
    is_weekend BOOLEAN NOT NULL,
    is_month_end BOOLEAN NOT NULL,
    is_trading_day_xnas BOOLEAN NOT NULL,
    is_trading_day_xnys BOOLEAN NOT NULL,
    is_trading_day_arcx BOOLEAN NOT NULL,
    is_trading_day_crypto BOOLEAN NOT NULL
);

CREATE TABLE IF NOT EXISTS fact_daily_bar (
    symbol VARCHAR NOT NULL,
    trade_date DATE NOT NULL,
    open DOUBLE,
    high DOUBLE,
    low DOUBLE,
    close DOUBLE,
    volume DOUBLE
);

CREATE TABLE IF NOT EXISTS fact_intraday_bar (
    symbol VARCHAR NOT NULL,
    trade_date DATE NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    open DOUBLE,
    high DOUBLE,
    low DOUBLE,
    close DOUBLE,
    volume DOUBLE
);

CREATE TABLE IF NOT EXISTS fact_indicator (
    symbol VARCHAR NOT NULL,
    trade_date DATE NOT NULL,
    sma_20 DOUBLE,
    sma_50 DOUBLE,
    sma_200 DOUBLE,
    ema_12 DOUBLE,
    ema_26 DOUBLE,
    rsi_14 DOUBLE,
    macd DOUBLE,
    macd_signal DOUBLE,
    macd_hist DOUBLE,
    bb_upper DOUBLE,
    bb_middle DOUBLE,
    bb_lower DOUBLE,
    atr_14 DOUBLE,
    roc_10 DOUBLE
);

CREATE TABLE IF NOT EXISTS fact_signal (
    symbol VARCHAR NOT NULL,
    trade_date DATE NOT NULL,
    signal VARCHAR NOT NULL,
    direction TINYINT,
    value DOUBLE
);

CREATE TABLE IF NOT EXISTS fact_risk (
    symbol VARCHAR NOT NULL,
    trade_date DATE NOT NULL,
    return_1d DOUBLE,
    log_return_1d DOUBLE,
    volatility_20d DOUBLE,
    volatility_60d DOUBLE,
    var_95_hist DOUBLE,
    var_99_hist DOUBLE,
    cvar_95_hist DOUBLE,
    cvar_99_hist DOUBLE,
    var_95_param DOUBLE,
    var_99_param DOUBLE,
    cvar_95_param DOUBLE,
    cvar_99_param DOUBLE
);

CREATE TABLE IF NOT EXISTS fact_portfolio_risk (
    trade_date DATE NOT NULL,
    n_symbols BIGINT,
    return_1d DOUBLE,
    volatility_ann DOUBLE,
    var_95_hist DOUBLE,
    var_99_hist DOUBLE,
    cvar_95_hist DOUBLE,
    cvar_99_hist DOUBLE,
    var_95_param DOUBLE,
    var_99_param DOUBLE,
    cvar_95_param DOUBLE,
    cvar_99_param DOUBLE
);

CREATE TABLE IF NOT EXISTS fact_correlation (
    trade_date DATE NOT NULL,
    symbol_a VARCHAR NOT NULL,
    symbol_b VARCHAR NOT NULL,
    correlation DOUBLE
);
