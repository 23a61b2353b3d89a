"""Render a Helm chart with Helm's own engine: `python render_chart.py CHART VALUES_JSON`.

Run by .venv-tools' Python (helm-python-sdk: Helm v4's Go SDK as a native library, installed by
`make tools`), never imported by the tests' process. Prints a JSON object: template path →
rendered manifest text, as `helm template --namespace dagster --name-template fin-assets`.
"""

import json
import sys

import helm_python

RELEASE, NAMESPACE = "fin-assets", "dagster"


def main() -> None:
    chart_path, values = sys.argv[1], json.loads(sys.argv[2])
    helm_python.disable_logging()
    with helm_python.Chart.load(chart_path) as chart:
        chart.validate_schema(chart.merge_values(values))
        rendered = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    print(json.dumps(rendered))


if __name__ == "__main__":
    main()
