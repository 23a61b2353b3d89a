"""Thin Dagster definitions, grouped by layer: ingest → bars → analytics → risk → warehouse."""

import warnings

from dagster import BetaWarning

# The graph relies on Dagster APIs still marked beta (BackfillPolicy.single_run, multi-partition
# mappings with look-backs); they are chosen deliberately, so their warnings are not repeated.
warnings.filterwarnings("ignore", category=BetaWarning)
