# Two commands for a new user: `make demo` and `make test`. Each creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# the tileset validator's npm packages (tools/package-lock.json), when Node is there
NODE_TOOLS := $(if $(shell command -v npm),tools/node_modules/.installed)

.PHONY: demo test lint sample bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

tools/node_modules/.installed: tools/package.json tools/package-lock.json
	npm ci --no-audit --no-fund --prefix tools
	touch $@

demo: $(STAMP)
	$(BIN)/cim demo --out demo_output

test: $(STAMP) $(NODE_TOOLS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n auto --dist loadgroup --no-loadscope-reorder

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

sample: $(STAMP)
	$(BIN)/python sample_data/build_divisions.py
	$(BIN)/python sample_data/build_sample.py

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet cpca jionlp pysheds richdem2 pandana
	$(BIN)/python benchmarks/dispatch.py
	$(BIN)/python benchmarks/service_areas.py
	$(BIN)/python benchmarks/access.py
	$(BIN)/python benchmarks/address.py
	$(BIN)/python benchmarks/waterlogging.py
	$(BIN)/python benchmarks/views.py
	$(BIN)/python benchmarks/events.py
	$(BIN)/python benchmarks/simulation.py
	$(BIN)/python benchmarks/imports.py

clean:
	rm -rf $(VENV) demo_output .pytest_cache tools/node_modules
