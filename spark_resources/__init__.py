"""PySpark entry points of fin_assets (filled by the "Spark at scale" issue)."""
