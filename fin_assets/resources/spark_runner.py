"""Where the Spark jobs of `spark_resources` run: a Dagster resource chosen by FIN_SPARK.

- `LocalSparkRunner` (FIN_SPARK=local): `spark-submit --master local[*]` as a subprocess through
  Dagster Pipes (PipesSubprocessClient); the driver and the Python workers use this virtualenv.
- `EMRSparkRunner` (FIN_SPARK=emr) and `EMRServerlessSparkRunner` (FIN_SPARK=emr-serverless)
  live in fin_assets.resources.spark_emr.

Every runner decides, from the number of date × symbol partitions a run covers, whether a
range goes to Spark at all (`use_spark`): below `min_partitions` the pandas assets are faster,
because Spark's fixed cost (JVM, session, Python workers; a cluster on EMR) is not amortized.
The default comes from benchmarks/spark_history.py (see BENCHMARKS.md) and is overridden per
deployment in the resource config (`resources: {spark: {config: {min_partitions: N}}}`).
"""

import importlib.util
import sys
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    ConfigurableResource,
    PipesClientCompletedInvocation,
    PipesSubprocessClient,
)
from pydantic import Field

import spark_resources

# Partitions (dates × symbols) from which a run of the bar and analytics assets goes to Spark:
# the crossover of a transient EMR cluster derived from the measured costs, for 32 to 100 cores
# (spark_resources/README.md, "Measurements and the EMR scaling plan"; the local runner on a
# 2-core machine crosses over at about 40,000).
DEFAULT_MIN_PARTITIONS = 220_000


@dataclass(frozen=True)
class SparkJob:
    """One entry point of the spark_resources package and its command-line arguments."""

    script: str
    arguments: tuple[str, ...]

    @property
    def local_path(self) -> Path:
        path = Path(spark_resources.__file__).parent / self.script
        if not path.is_file():
            raise ValueError(f"no Spark entry point {self.script!r} in {path.parent}")
        return path


def staging_arguments(staging_run: str | None) -> tuple[str, ...]:
    """The job arguments staging its writes in `staging_run`'s staging folder, which the run's
    publication moves (fin_assets.defs.common.publish; spark_resources.lake_frames): none when the
    step's run is not staged."""
    return () if staging_run is None else ("--staging-run", staging_run)


def spark_submit_path() -> Path:
    """The spark-submit script of the installed pyspark distribution (located without importing
    pyspark, which every process loading the code location would pay for)."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or spec.origin is None:
        raise RuntimeError("pyspark is not installed: install the 'spark' extra")
    return Path(spec.origin).parent / "bin" / "spark-submit"


class SparkRunner(ConfigurableResource):
    """Base of the Spark runners: the pandas-or-Spark threshold and `run`."""

    min_partitions: int = Field(
        default=DEFAULT_MIN_PARTITIONS,
        description="Runs covering at least this many date × symbol partitions go to Spark.",
    )

    def use_spark(self, partitions: int) -> bool:
        """Whether a run covering `partitions` date × symbol partitions goes to Spark."""
        return partitions >= self.min_partitions

    @abstractmethod
    def run(self, context: AssetExecutionContext, job: SparkJob) -> PipesClientCompletedInvocation:
        """Run `job` to completion; its Pipes messages become the step's results."""


class LocalSparkRunner(SparkRunner):
    """spark-submit on this machine (`local[*]` by default), with this virtualenv's Python."""

    master: str = "local[*]"
    driver_memory: str = "2g"

    def run(self, context: AssetExecutionContext, job: SparkJob) -> PipesClientCompletedInvocation:
        command = [
            str(spark_submit_path()),
            "--master",
            self.master,
            "--driver-memory",
            self.driver_memory,
            str(job.local_path),
            *job.arguments,
        ]
        python = {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
        return PipesSubprocessClient(env=python).run(command=command, context=context)
