# The two commands of README.md: `make demo` and `make test`. Both install first.
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .venv-tools

.PHONY: install demo test lint benchmark dev tools

$(BIN)/fin-assets: pyproject.toml setup.py requirements.lock
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==0.9.5
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock -e .
	touch $@

install: $(BIN)/fin-assets

# Checkov (terraform/ policy checks, fin_assets_tests/deploy) in its own virtualenv: its
# dependencies conflict with the project's pins.
$(TOOLS)/bin/checkov: terraform/checkov-requirements.lock $(BIN)/fin-assets
	python3 -m venv --without-pip $(TOOLS)
	$(BIN)/uv pip install --quiet --python $(TOOLS)/bin/python -r terraform/checkov-requirements.lock
	touch $@

tools: $(TOOLS)/bin/checkov

demo: install
	$(BIN)/fin-assets demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint tools
	$(BIN)/pytest -n 2 --dist loadgroup

benchmark: install
	$(BIN)/python -m benchmarks.pipeline_stages

dev: install
	$(BIN)/fin-assets dev
