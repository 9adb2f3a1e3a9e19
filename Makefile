# Safeguard: `make demo` runs the product on its embedded default, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: demo test lint bench install system-deps kafka-jars clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

system-deps:
	bash scripts/system-deps.sh
	bash scripts/install-real-software.sh

kafka-jars: install system-deps
	$(BIN)/python -c "from streams.local_kafka import fetch_kafka_libs; print('kafka jars:', fetch_kafka_libs())"

demo: install
	$(BIN)/safeguard demo

test: install system-deps kafka-jars
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy safeguard/ producers/ streams/ pipelines/ warehouse/ dashboard/

bench: install
	$(BIN)/python bench/bench_simulator.py
	$(BIN)/python bench/bench_parsers.py
	$(BIN)/python bench/bench_embedded.py
	$(BIN)/python bench/bench_warehouse.py
	$(BIN)/python bench/bench_kafka.py

clean:
	rm -rf $(VENV) .safeguard .pytest_cache .mypy_cache .ruff_cache *.egg-info
