# community-alignment — one command per job. `make test` and `make benchmark` work on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SRC    := src tests benchmarks loading_script.py

.PHONY: install lint format test test-fast prepare card sample perf clean

# torch first, pinned: an unpinned torch (pulled in by trl/accelerate) would fetch a multi-GB CUDA build.
$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check $(SRC)
	$(BIN)/ruff format --check $(SRC)

format: install
	$(BIN)/ruff check --fix $(SRC)
	$(BIN)/ruff format $(SRC)

test: lint
	$(BIN)/python -m pytest -q

test-fast: lint
	$(BIN)/python -m pytest -q -m "not slow"

# Build every config of the embedded synthetic sample into the datasets cache;
# afterwards `datasets.load_dataset("community_alignment")` works offline from any folder.
prepare: install
	$(BIN)/community-alignment prepare --all --source sample

card: install
	$(BIN)/community-alignment card --source sample --out dataset_card.md

sample: install
	$(BIN)/community-alignment make-sample

perf: install
	$(BIN)/python benchmarks/perf/prepare.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info src/*.egg-info
