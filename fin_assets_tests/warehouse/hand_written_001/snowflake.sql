-- The star schema: the SCD2 symbol dimension, the date dimension and the facts.
-- Tables only ever get CREATE TABLE IF NOT EXISTS here; later changes are new migrations.
-- Snowflake records but does not enforce PRIMARY KEY: the loads check key uniqueness themselves.
-- Facts are clustered by (trade_date, symbol), the filter of every load and most BI queries.

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
    open FLOAT,
    high FLOAT,
    low FLOAT,
    close FLOAT,
    volume FLOAT,
    PRIMARY KEY (symbol, trade_date)
) CLUSTER BY (trade_date, symbol);

CREATE TABLE IF NOT EXISTS fact_intraday_bar (
    symbol VARCHAR NOT NULL,
    trade_date DATE NOT NULL,
    ts TIMESTAMP_TZ NOT NULL,
    open FLOAT,
    high FLOAT,
    low FLOAT,
    close FLOAT,
    volume FLOAT,
    PRIMARY KEY (symbol, trade_date, ts)
) CLUSTER BY (trade_date, symbol);

CREATE TABLE IF NOT EXISTS fact_indicator (
    symbol VARCHAR NOT NULL,
    trade_date DATE NOT NULL,
    sma_20 FLOAT,
    sma_50 FLOAT,
    sma_200 FLOAT,
    ema_12 FLOAT,
    ema_26 FLOAT,
    rsi_14 FLOAT,
    macd FLOAT,
    macd_signal FLOAT,
    macd_hist FLOAT,
    bb_upper FLOAT,
    bb_middle FLOAT,
    bb_lower FLOAT,
    atr_14 FLOAT,
    roc_10 FLOAT,
    PRIMARY KEY (symbol, trade_date)
) CLUSTER BY (trade_date, symbol);

CREATE TABLE IF NOT EXISTS fact_signal (
    symbol VARCHAR NOT NULL,
    trade_date DATE NOT NULL,
    signal VARCHAR NOT NULL,
    direction SMALLINT,
    value FLOAT,
    PRIMARY KEY (symbol, trade_date, signal)
) CLUSTER BY (trade_date, symbol);

CREATE TABLE IF NOT EXISTS fact_risk (
    symbol VARCHAR NOT NULL,
    trade_date DATE NOT NULL,
    return_1d FLOAT,
    log_return_1d FLOAT,
    volatility_20d FLOAT,
    volatility_60d FLOAT,
    var_95_hist FLOAT,
    var_99_hist FLOAT,
    cvar_95_hist FLOAT,
    cvar_99_hist FLOAT,
    var_95_param FLOAT,
    var_99_param FLOAT,
    cvar_95_param FLOAT,
    cvar_99_param FLOAT,
    PRIMARY KEY (symbol, trade_date)
) CLUSTER BY (trade_date, symbol);

CREATE TABLE IF NOT EXISTS fact_portfolio_risk (
    trade_date DATE NOT NULL PRIMARY KEY,
    n_symbols BIGINT,
    return_1d FLOAT,
    volatility_ann FLOAT,
    var_95_hist FLOAT,
    var_99_hist FLOAT,
    cvar_95_hist FLOAT,
    cvar_99_hist FLOAT,
    var_95_param FLOAT,
    var_99_param FLOAT,
    cvar_95_param FLOAT,
    cvar_99_param FLOAT
) CLUSTER BY (trade_date);

CREATE TABLE IF NOT EXISTS fact_correlation (
    trade_date DATE NOT NULL,
    symbol_a VARCHAR NOT NULL,
    symbol_b VARCHAR NOT NULL,
    correlation FLOAT,
    PRIMARY KEY (trade_date, symbol_a, symbol_b)
) CLUSTER BY (trade_date);

-- Internal stage of the bulk loads: Parquet files are PUT here, then COPY INTO a load table.
CREATE STAGE IF NOT EXISTS fin_load_stage FILE_FORMAT = (TYPE = PARQUET);
