"""What the Dagster assets (fin_assets.defs) and the Spark jobs (spark_resources) share, without
Dagster: the universe's partition values, a run's partition scope, the lake's per-partition
reads and writes, the check rules computed on a dataset, and the portfolio's weights. Both
sides import from here; spark_resources imports nothing from fin_assets.defs.
"""
