"""Wiring the domains share: partitions and their scopes, check results, write-audit-publish,
automation conditions, the Spark runs, job selections and the jobs across domains. It imports
no domain folder (pyproject.toml's import contracts)."""
