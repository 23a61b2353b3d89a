"""A small FIN_HOME the UI tests open: AAPL and MSFT over the first two weeks of history.

`materialize_home` runs the reference dimensions, one range run of `symbol_history_job` over
START..END × AAPL..MSFT (28 date × symbol partitions, closed dates included: 1 January, the
weekends and 9 January, a national day of mourning) and the market report, in process on the
home's instance. The portfolio is not run (it needs the whole universe), so the report has no
correlation heat map, and two weeks of returns give no VaR: both sections must say why.
"""

from __future__ import annotations

from datetime import date

from dagster import DagsterInstance

from fin_assets.definitions import build_definitions
from fin_assets.defs.common.partition_ranges import rectangle_tags
from fin_assets.instance import open_instance, prepare_instance_environment
from fin_assets.settings import Settings

START, END = date(2025, 1, 1), date(2025, 1, 14)
SYMBOLS = ("AAPL", "MSFT")


def materialize_home(settings: Settings) -> DagsterInstance:
    """Run the dimensions, the AAPL..MSFT history range and the report; every run succeeds."""
    prepare_instance_environment(settings)
    instance = open_instance(settings)
    definitions = build_definitions(settings)
    runs = [
        ("reference_job", {}),
        ("symbol_history_job", rectangle_tags(START, END, SYMBOLS[0], SYMBOLS[-1])),
        ("report_job", {}),
    ]
    for job_name, tags in runs:
        result = definitions.resolve_job_def(job_name).execute_in_process(
            instance=instance, tags=tags, raise_on_error=True
        )
        assert result.success, job_name
    return instance
