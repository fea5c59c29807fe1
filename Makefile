# community-alignment — one command per job. `make test` and `make benchmark` work on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SRC    := src tests benchmarks loading_script.py

.PHONY: install lint format browser test test-fast prepare benchmark individual pluralism card sample perf clean

# torch first, pinned: an unpinned torch (pulled in by trl/accelerate) would fetch a multi-GB CUDA build.
# constraints.txt pins every package to the version the tests ran on.
$(STAMP): setup.cfg pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check $(SRC)
	$(BIN)/ruff format --check $(SRC)

format: install
	$(BIN)/ruff check --fix $(SRC)
	$(BIN)/ruff format $(SRC)

# The leaderboard's browser test needs Debian's chromium + chromium-driver (installed here when missing).
browser:
	@command -v chromedriver >/dev/null 2>&1 || { \
	  echo "installing chromium + chromium-driver (Debian packages) for the browser test"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; }

# Two workers (the 2-core budget), one test file per worker so module fixtures are built once.
test: lint browser
	$(BIN)/python -m pytest -q -n auto --maxprocesses 2 --dist loadfile

test-fast: lint
	$(BIN)/python -m pytest -q -m "not slow"

# Build every config of the embedded synthetic sample into the datasets cache;
# afterwards `datasets.load_dataset("community_alignment", CONFIG)` works offline from any folder.
prepare: install
	$(BIN)/community-alignment prepare --all --source sample

# The main job: train the default reward model (all-MiniLM-L6-v2, offline) on the embedded sample under
# accelerate, score it per subgroup against baselines and the oracle; writes runs/default/ (< 10 min on 2 CPUs).
# (accelerate launch would otherwise set OMP_NUM_THREADS=1 and use one core)
benchmark: install
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-$$(nproc)} $(BIN)/accelerate launch --num_processes 1 --num_machines 1 \
	  --mixed_precision no --dynamo_backend no benchmarks/train.py

# The individual track on the sample: the population reward model on the train annotators with the k-shot
# adaptation of its scores (runs/unseen/), then the personalized model (runs/personalized/).
individual: install
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-$$(nproc)} $(BIN)/accelerate launch --num_processes 1 --num_machines 1 \
	  --mixed_precision no --dynamo_backend no benchmarks/train.py --track unseen_annotators --name unseen
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-$$(nproc)} $(BIN)/python benchmarks/train.py --track unseen_annotators \
	  --method personalized --name personalized

# Pooled vs country-conditioned reward model on the sample; writes runs/pluralism/report.md.
pluralism: install
	$(BIN)/python benchmarks/pluralism.py

card: install
	$(BIN)/community-alignment card --source sample --out dataset_card.md

sample: install
	$(BIN)/community-alignment make-sample --out-dir src/community_alignment/synthetic/data

perf: install
	$(BIN)/python benchmarks/perf/prepare.py
	$(BIN)/python benchmarks/perf/scoring.py
	$(BIN)/python benchmarks/perf/train_overhead.py
	$(BIN)/python benchmarks/perf/llm_judge.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info src/*.egg-info
