"""The vendors market-data source: each universe symbol fetched from the vendor it is routed to.

Routing is by asset class: equities and ETFs go to `equity_vendor` (Alpha Vantage by default,
or Yahoo), crypto to `crypto_vendor` (CoinGecko by default, or Yahoo); the symbol's id at that
vendor comes from the universe's `vendor_ids`. One raw payload per (symbol, session):

- Alpha Vantage: one TIME_SERIES_INTRADAY call (1min, `month=`, regular hours, CSV) serves the
  whole month; each session's payload is the header plus that session's CSV lines of the
  response, bytes unchanged. The month is fetched once per run and kept while the run walks
  that symbol's dates.
- Yahoo: one v8 chart request per session, made by yfinance: 1-minute bars opening between the
  session's first and last minute (Yahoo serves 1-minute bars for the last 30 days only).
- CoinGecko: one market_chart/range call per UTC day (hourly points for past days,
  5-minutely for the last 24 hours).

Every payload is decoded, its bars must open within the session and miss their open/close by
no more than the OHLC tolerance (analytics/ohlc_policy.py), before it is returned: an invalid
payload raises VendorPayloadInvalid and nothing reaches the raw layer. Keys come from
the environment through Dagster's EnvVar (see environments.py) and never appear in lineage,
logs or errors.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from dagster import InitResourceContext
from pydantic import PrivateAttr

from fin_assets.analytics.market_calendar import is_session, session_minutes
from fin_assets.analytics.ohlc_policy import OHLC_TOLERANCE, beyond_tolerance
from fin_assets.landing.raw_store import RawPayload
from fin_assets.resources.lake import ParquetLake
from fin_assets.resources.market_data import (
    OFFLINE_POOL,
    MarketDataResource,
    decode_payload,
)
from fin_assets.resources.vendors import alphavantage, coingecko, yahoo
from fin_assets.resources.vendors.attempt_budget import (
    AttemptBudget,
    attempt_store,
    request_budget,
)
from fin_assets.resources.vendors.errors import VendorBadRequest, VendorPayloadInvalid
from fin_assets.resources.vendors.http_client import VendorHttpClient, VendorResponse
from fin_assets.resources.vendors.limiter_store import limiter_engine
from fin_assets.resources.vendors.rate_limit import Quota, shared_limiter
from fin_assets.resources.vendors.replay import ResponseArchive
from fin_assets.universe import Symbol

EQUITY_VENDORS = ("alphavantage", "yahoo")
CRYPTO_VENDORS = ("coingecko", "yahoo")
SOURCE_NAME = "vendors"
# Each vendor's Dagster concurrency pool: raw_quotes fetches a vendor's symbols in a step that
# takes a slot of it, so concurrent runs call one vendor one step at a time (limit 1, see
# fin_assets/instance.py). Replays make no vendor call and take OFFLINE_POOL instead.
VENDOR_POOLS = {
    "alphavantage": "vendor_alpha_vantage",
    "coingecko": "vendor_coingecko",
    "yahoo": "vendor_yahoo",
}


class VendorMarketSource(MarketDataResource):
    """Real vendors behind the source interface; see the module docstring.

    `mode`: "live" (HTTP only), "record" (HTTP, and every answer archived under
    `archive_root`'s raw layer) or "replay" (answers from that archive, no HTTP).
    Quotas default to the free tiers; raise them for paid keys. Partitions that already have a
    payload are not fetched again (quota) unless `refetch_stored`. `limiter_store_url`
    (SQLAlchemy URL; may hold a password, so pass it as an EnvVar) is where the limiters' state
    lives, shared by every process using it; empty keeps it in the process (rate_limit.py).

    Retries: a call is tried at most `max_attempts` times by the client (backoff from
    `backoff_seconds`), and a request at most `request_attempts` times per run over the client's
    and the step's retries together, bounded by the quota (attempt_budget.py); the budget's
    counts live beside the limiters' state.
    """

    equity_vendor: str = "alphavantage"
    crypto_vendor: str = "coingecko"
    alphavantage_api_key: str = ""
    alphavantage_base_url: str = alphavantage.BASE_URL
    alphavantage_calls_per_minute: int = 5
    alphavantage_calls_per_day: int = 25
    coingecko_api_key: str = ""
    coingecko_plan: str = "demo"
    coingecko_base_url: str = ""  # empty: the plan's URL (coingecko.BASE_URLS)
    coingecko_calls_per_minute: int = 30
    coingecko_calls_per_month: int = 10_000
    yahoo_base_url: str = ""  # empty: Yahoo's own hosts; else every Yahoo request goes there
    yahoo_calls_per_minute: int = 30
    max_attempts: int = 3
    request_attempts: int = 5
    backoff_seconds: float = 2.0
    timeout_seconds: float = 30.0
    mode: str = "live"
    archive_root: str = ""
    refetch_stored: bool = False
    limiter_store_url: str = ""

    _clients: dict[str, VendorHttpClient] = PrivateAttr(default_factory=dict)
    _month: tuple[tuple[str, str], VendorResponse] | None = PrivateAttr(default=None)
    # The attempt budgets' scope: the Dagster run id, or this object's own id outside a run.
    _budget_scope: str = PrivateAttr(default_factory=lambda: f"process-{uuid.uuid4()}")

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Scope the requests' attempt budgets to the run, so step retries share them."""
        if context.run is not None:
            self._budget_scope = context.run.run_id

    @property
    def vendor(self) -> str:
        """The source's name; each symbol's payloads are stored under `vendor_for(symbol)`."""
        return SOURCE_NAME

    @property
    def reuses_stored_payloads(self) -> bool:
        """Partitions already in the raw layer are not fetched again unless refetch_stored."""
        return not self.refetch_stored

    def vendor_for(self, symbol: Symbol) -> str:
        """The vendor `symbol` is fetched from (by asset class)."""
        vendor = self.crypto_vendor if symbol.is_crypto else self.equity_vendor
        allowed = CRYPTO_VENDORS if symbol.is_crypto else EQUITY_VENDORS
        if vendor not in allowed:
            raise ValueError(
                f"{symbol.asset_class} vendor must be one of {allowed}, got {vendor!r}"
            )
        return vendor

    def pool_for(self, symbol: Symbol) -> str:
        """The pool of `symbol`'s vendor (VENDOR_POOLS), or OFFLINE_POOL in replay mode."""
        vendor = self.vendor_for(symbol)
        return OFFLINE_POOL if self.mode == "replay" else VENDOR_POOLS[vendor]

    def fetch_intraday(self, symbol: Symbol, trade_date: date) -> RawPayload | None:
        if not is_session(symbol.calendar, trade_date):
            return None
        vendor = self.vendor_for(symbol)
        vendor_id = symbol.vendor_ids.get(vendor)
        if not vendor_id:
            raise VendorBadRequest(vendor, f"{symbol.symbol} has no {vendor} id in the universe")
        if vendor == "alphavantage":
            payload = self._alphavantage_session(vendor_id, trade_date)
        elif vendor == "yahoo":
            minutes = session_minutes(symbol.calendar, trade_date)
            first = minutes[0].to_pydatetime()
            end = (minutes[-1] + timedelta(minutes=1)).to_pydatetime()
            response = yahoo.chart(self._client(vendor), vendor_id, first, end, "1m")
            payload = _payload(response, response.content, "json", trade_date)
        else:
            first = datetime.combine(trade_date, datetime.min.time(), tzinfo=UTC)
            last = first + timedelta(days=1) - timedelta(seconds=1)
            client = self._client(vendor)
            response = coingecko.market_chart_range(client, vendor_id, first, last, "usd")
            payload = _payload(response, response.content, "json", trade_date)
        return replace(payload, bar_count=_bars_within_session(payload, symbol, trade_date))

    def calls_for(self, symbol: Symbol, sessions: list[date]) -> int:
        """HTTP calls fetch_intraday makes for `sessions` of `symbol` (one run, cold cache)."""
        if self.vendor_for(symbol) == "alphavantage":
            return len({(day.year, day.month) for day in sessions})
        return len(sessions)

    def quotas(self, vendor: str) -> tuple[Quota, ...]:
        """The configured call quotas of `vendor`."""
        if vendor == "alphavantage":
            return (
                Quota(self.alphavantage_calls_per_minute, 60),
                Quota(self.alphavantage_calls_per_day, 86_400),
            )
        if vendor == "coingecko":
            return (
                Quota(self.coingecko_calls_per_minute, 60),
                Quota(self.coingecko_calls_per_month, 30 * 86_400),
            )
        return (Quota(self.yahoo_calls_per_minute, 60),)

    def _alphavantage_session(self, vendor_id: str, trade_date: date) -> RawPayload:
        month = trade_date.strftime("%Y-%m")
        if self._month is None or self._month[0] != (vendor_id, month):
            params = alphavantage.intraday_params(vendor_id, month, "1min", False, "csv")
            client = self._client("alphavantage")
            response = alphavantage.query(client, self.alphavantage_api_key, params)
            self._month = ((vendor_id, month), response)
        response = self._month[1]
        content = alphavantage.csv_rows_of_date(response.content, trade_date)
        return _payload(response, content, "csv", trade_date)

    def _client(self, vendor: str) -> VendorHttpClient:
        if vendor not in self._clients:
            self._clients[vendor] = self._new_client(vendor)
        return self._clients[vendor]

    def _new_client(self, vendor: str) -> VendorHttpClient:
        if self.coingecko_plan not in coingecko.PLANS:
            raise ValueError(f"coingecko_plan must be one of {coingecko.PLANS}")
        module = {"alphavantage": alphavantage, "coingecko": coingecko, "yahoo": yahoo}[vendor]
        keys = {"alphavantage": self.alphavantage_api_key, "coingecko": self.coingecko_api_key}
        base_urls = {
            "alphavantage": self.alphavantage_base_url,
            "coingecko": self.coingecko_base_url or coingecko.BASE_URLS[self.coingecko_plan],
            "yahoo": self.yahoo_base_url,
        }
        headers = {
            "coingecko": {coingecko.KEY_HEADERS[self.coingecko_plan]: self.coingecko_api_key},
        }
        secrets = {"alphavantage": frozenset({alphavantage.API_KEY_PARAM})}
        client_class = VendorHttpClient
        if vendor == "yahoo":
            # Yahoo's requests are yfinance's. Imported here: yfinance takes 1.2 s to import,
            # which every run process would pay.
            from fin_assets.resources.vendors.yahoo_client import YahooChartClient

            client_class = YahooChartClient
        return client_class(
            vendor=vendor,
            base_url=base_urls[vendor],
            limiter=shared_limiter(
                vendor, keys.get(vendor, ""), self.quotas(vendor), self.limiter_store_url
            ),
            describe_error=module.describe_error,
            check_body=module.check_body,
            headers=headers.get(vendor, {}),
            secret_params=secrets.get(vendor, frozenset()),
            timeout_seconds=self.timeout_seconds,
            max_attempts=self.max_attempts,
            backoff_seconds=self.backoff_seconds,
            mode=self.mode,
            archive=ResponseArchive(ParquetLake(self.archive_root)) if self.archive_root else None,
            budget=AttemptBudget(
                attempt_store(
                    limiter_engine(self.limiter_store_url) if self.limiter_store_url else None
                ),
                self._budget_scope,
                request_budget(self.quotas(vendor), self.request_attempts),
            ),
        )


def _bars_within_session(payload: RawPayload, symbol: Symbol, trade_date: date) -> int:
    """Decode `payload`, require every bar to open within the session of `trade_date` and to
    miss its open/close by at most OHLC_TOLERANCE; the number of bars. An invalid payload, one
    holding other sessions' bars or bars beyond repair, never reaches the raw layer.
    """
    bars = decode_payload(payload.vendor, payload.content)
    minutes = session_minutes(symbol.calendar, trade_date)
    outside = bars[(bars["ts"] < minutes[0]) | (bars["ts"] > minutes[-1])]
    if not outside.empty:
        raise VendorPayloadInvalid(
            payload.vendor,
            f"{len(outside)} of {len(bars)} bars for {symbol.symbol} on {trade_date} open outside "
            f"its session ({minutes[0]} to {minutes[-1]}), first at {outside['ts'].iloc[0]}",
        )
    broken = bars.loc[beyond_tolerance(bars), "ts"]
    if not broken.empty:
        raise VendorPayloadInvalid(
            payload.vendor,
            f"{len(broken)} bars for {symbol.symbol} on {trade_date} have high/low missing "
            f"open/close by more than {OHLC_TOLERANCE:.1%}: "
            + ", ".join(ts.isoformat() for ts in broken[:5]),
            refused_bars=len(broken),
        )
    return len(bars)


def _payload(
    response: VendorResponse, content: bytes, extension: str, trade_date: date
) -> RawPayload:
    """The payload of `trade_date` cut from `response` (all of it, or its CSV lines of that date).

    Lineage params: the request's public params plus trade_date and response_sha256 (the hash
    of the whole answer, which differs from the payload's own hash when it was cut).
    """
    return RawPayload(
        vendor=response.vendor,
        endpoint=response.endpoint,
        params={
            **response.params,
            "trade_date": trade_date.isoformat(),
            "response_sha256": hashlib.sha256(response.content).hexdigest(),
        },
        content=content,
        media_type="text/csv" if extension == "csv" else "application/json",
        extension=extension,
        fetched_at=response.fetched_at,
    )
