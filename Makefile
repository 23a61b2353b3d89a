# The two commands of README.md: `make demo` and `make test`. Both install first.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint benchmark dev

$(BIN)/fin-assets: pyproject.toml setup.py requirements.lock
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==0.9.5
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock -e .
	touch $@

install: $(BIN)/fin-assets

demo: install
	$(BIN)/fin-assets demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest -n 2 --dist loadgroup

benchmark: install
	$(BIN)/python -m benchmarks.pipeline_stages

dev: install
	$(BIN)/fin-assets dev
