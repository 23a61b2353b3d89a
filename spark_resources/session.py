"""The Spark session every job of this package uses, with the configuration of the workload.

The master is not set here: `spark-submit --master` (local[N], yarn on EMR) or EMR Serverless
chooses it. Each setting is justified in spark_resources/README.md.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from pyspark.sql import SparkSession

SPARK_CONF: dict[str, str] = {
    # Adaptive query execution: re-plan at shuffle boundaries with real sizes (coalesce the
    # many small post-shuffle partitions a 10-symbol day produces, switch to broadcast joins).
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.adaptive.coalescePartitions.enabled": "true",
    "spark.sql.adaptive.advisoryPartitionSizeInBytes": "64m",
    # Skew joins: one symbol (crypto, 24/7) has ~1.45x the sessions of an equity and intraday
    # volume is very uneven across symbols; AQE splits oversized join partitions.
    "spark.sql.adaptive.skewJoin.enabled": "true",
    # Dynamic partition pruning: a join on trade_date with a filtered session calendar prunes
    # the hive `trade_date=` folders that are read.
    "spark.sql.optimizer.dynamicPartitionPruning.enabled": "true",
    # Broadcast the small side of joins (universe, session calendar: KBs to a few MBs).
    "spark.sql.autoBroadcastJoinThreshold": "32m",
    # The lake's codec (fin_assets.objects.store.COMPRESSION): files Spark writes match it.
    "spark.sql.parquet.compression.codec": "snappy",
    # Kryo for JVM-side serialization of shuffled and cached rows.
    "spark.serializer": "org.apache.spark.serializer.KryoSerializer",
    # Arrow for every pandas exchange (applyInPandas, createDataFrame, toPandas); fail instead
    # of silently falling back to row-by-row pickling.
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
    # Replace only the partitions a write produces (the compaction job's output).
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
    # Dates and timestamps are UTC in the lake; never the JVM's local zone.
    "spark.sql.session.timeZone": "UTC",
}


def spark_session(
    app_name: str, master: str | None = None, conf: Mapping[str, str] | None = None
) -> SparkSession:
    """The active session, created with SPARK_CONF (and `conf`) if there is none.

    The master is `master` if given (an in-process session: tests, benchmarks; its Python
    workers then run this interpreter), else spark-submit's, else `local[*]`. In an in-process
    session `conf` may hold launch settings (spark.driver.memory): pyspark passes them to the
    JVM it starts.
    """
    builder = SparkSession.builder.appName(app_name)
    if master is not None:
        # pyspark starts its Python workers with $PYSPARK_PYTHON (spark-submit sets it).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = builder.master(master)
    for key, value in {**SPARK_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
