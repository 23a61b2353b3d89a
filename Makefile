# The two commands of README.md: `make demo` and `make test`. Both install first.
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .venv-tools

.PHONY: install demo test lint benchmark dev tools browser monitoring

# Bytecode is compiled at install (uv does not by default, and PYTHONDONTWRITEBYTECODE=1 keeps
# Python from caching it): without it every process recompiles Dagster, pandas and the code
# location, and each Dagster run process takes twice as long to start.
$(BIN)/fin-assets: pyproject.toml setup.py requirements.lock
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==0.9.5
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock -e .
	$(BIN)/python -m compileall -q fin_assets spark_resources benchmarks
	touch $@

install: $(BIN)/fin-assets

# Checkov (terraform/ policy checks, fin_assets_tests/deploy) and Helm's chart engine (the
# monitoring chart's rendering tests) in their own virtualenv: checkov's dependencies conflict
# with the project's pins.
$(TOOLS)/bin/checkov: terraform/checkov-requirements.lock helm/tools-requirements.lock $(BIN)/fin-assets
	python3 -m venv --without-pip $(TOOLS)
	$(BIN)/uv pip install --quiet --python $(TOOLS)/bin/python \
	  -r terraform/checkov-requirements.lock -r helm/tools-requirements.lock
	touch $@

tools: $(TOOLS)/bin/checkov

# Headless Chromium and its driver (Debian packages) for the market_report browser test;
# installed only when missing, as root or through sudo.
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  if [ "$$(id -u)" -eq 0 ]; then SUDO=""; \
	  elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "chromium and chromium-driver are missing: install them as root" >&2; exit 1; fi; \
	  $$SUDO apt-get update -q && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; \
	fi

# Prometheus (promtool) and Alertmanager (amtool) for the alert rules' tests and the exporter's
# end-to-end test (Debian packages); installed only when missing, as root or through sudo.
monitoring:
	@if ! command -v promtool >/dev/null || ! command -v prometheus-alertmanager >/dev/null; then \
	  if [ "$$(id -u)" -eq 0 ]; then SUDO=""; \
	  elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "prometheus and prometheus-alertmanager are missing: install them as root" >&2; exit 1; fi; \
	  $$SUDO apt-get update -q && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q prometheus prometheus-alertmanager; \
	fi

demo: install
	$(BIN)/fin-assets demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# The default (fast) suite in two workers, then the slow suites (Spark, daemon, browser) one
# at a time: each of them already keeps both cores busy. Each test has its own limit
# (pyproject.toml, fin_assets_tests/hang_guard.py); each run stops starting tests after its
# --session-timeout and is ended by `timeout` after its hard limit, so that `make test` ends,
# with a clear failure, within 85 minutes whatever hangs.
test: lint tools browser monitoring
	timeout --kill-after=30 25m $(BIN)/pytest -n 2 --dist loadgroup --session-timeout 1200
	timeout --kill-after=30 60m $(BIN)/pytest -m slow -n 0 --session-timeout 3300

benchmark: install
	$(BIN)/python -m benchmarks.pipeline_stages

dev: install
	$(BIN)/fin-assets dev
