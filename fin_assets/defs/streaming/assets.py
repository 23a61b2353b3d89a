"""The stream's status as an asset: consumer-group lag, landed event time and throughput.

`stream_landing_status` reads the landing writer's consumer group from the broker
(fin_assets.streaming.status) and records, as metadata of each materialization: the total and
per-partition lag (messages not yet committed), committed messages, per-symbol landed event
time (the writer's watermark, ISO UTC) and its age in seconds at materialization, the commit
throughput since the previous materialization (committed-message delta / elapsed seconds), and
`dead_letters`: the messages written to the dead-letter topic `{topic}.dlq` since it began.
Its check `lag_within_limit` (WARN) fails when the group's lag exceeds the configured
`max_lag` messages: the writer is down or falling behind.
The broker comes from FIN_KAFKA_BOOTSTRAP / FIN_KAFKA_TOPIC / FIN_KAFKA_SECURITY.

`stream_status_schedule` reads the status every STATUS_CRON (stopped by default: turn it on
where the streaming path runs); the stream's freshness SLA (fin_assets.defs.operations.freshness)
is judged from the newest status read.
"""

from datetime import UTC, datetime

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetSelection,
    Config,
    DefaultScheduleStatus,
    MaterializeResult,
    MetadataValue,
    ScheduleDefinition,
    asset,
    define_asset_job,
)

from fin_assets.defs.common.selections import without_freshness_checks
from fin_assets.settings import environ
from fin_assets.streaming.kafka_config import KafkaSettings
from fin_assets.streaming.landing_writer import DEFAULT_GROUP
from fin_assets.streaming.status import group_status


class StreamStatusConfig(Config):
    group: str = DEFAULT_GROUP
    max_lag: int = 100_000


@asset(
    group_name="streaming",
    description=__doc__,
    kinds={"kafka"},
    check_specs=[
        AssetCheckSpec(
            "lag_within_limit",
            asset="stream_landing_status",
            description="The landing writer's consumer-group lag is at most max_lag messages.",
        )
    ],
)
def stream_landing_status(
    context: AssetExecutionContext, config: StreamStatusConfig
) -> MaterializeResult:
    now = datetime.now(UTC)
    status = group_status(KafkaSettings.from_env(environ()), config.group)
    landed = {s: datetime.fromtimestamp(ms / 1000, UTC) for s, ms in status.watermarks_ms.items()}
    metadata = {
        "topic": status.topic,
        "group": status.group,
        "checked_at": now.isoformat(),
        "lag": status.lag,
        "committed": status.committed,
        "dead_letters": status.dead_letters,
        "partition_lag": MetadataValue.json({str(p.partition): p.lag for p in status.partitions}),
        "landed_through": MetadataValue.json({s: t.isoformat() for s, t in landed.items()}),
        "landed_age_seconds": MetadataValue.json(
            {s: round((now - t).total_seconds(), 3) for s, t in landed.items()}
        ),
    }
    previous = context.instance.get_latest_materialization_event(context.asset_key)
    if previous is not None and previous.asset_materialization is not None:
        before = previous.asset_materialization.metadata
        if before.get("group") and before["group"].value == config.group:
            seconds = (now - datetime.fromisoformat(before["checked_at"].value)).total_seconds()
            delta = status.committed - before["committed"].value
            metadata["throughput_msg_per_s"] = round(delta / seconds, 3) if seconds > 0 else 0.0
    context.log.info(
        f"stream {status.topic} group {status.group}: lag {status.lag}, "
        f"committed {status.committed}, dead letters {status.dead_letters}"
    )
    return MaterializeResult(
        metadata=metadata,
        check_results=[
            AssetCheckResult(
                check_name="lag_within_limit",
                passed=status.lag <= config.max_lag,
                severity=AssetCheckSeverity.WARN,
                metadata={"lag": status.lag, "max_lag": config.max_lag},
            )
        ],
    )


# Every two minutes: the stream's freshness SLA is five minutes.
STATUS_CRON = "*/2 * * * *"
stream_status_job = define_asset_job(
    "stream_status_job",
    selection=without_freshness_checks(AssetSelection.assets("stream_landing_status")),
    description="Reads the landing writer's consumer group (stream_landing_status).",
)
stream_status_schedule = ScheduleDefinition(
    name="stream_status_schedule",
    job=stream_status_job,
    cron_schedule=STATUS_CRON,
    default_status=DefaultScheduleStatus.STOPPED,
    description="Reads the stream status every 2 minutes where the streaming path runs.",
)
