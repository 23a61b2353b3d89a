"""The functional core: pure pandas/numpy/TA-Lib functions. No Dagster imports here."""
