# signalkb: `make run` serves the sample articles, `make test` runs the whole suite.
# Both set everything up first and are idempotent: a second run reinstalls nothing.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.signalkb-installed
HOST ?= 127.0.0.1
PORT ?= 8000
export SIGNALKB_HOME ?= data/kb
# The sample articles, less the README that says where they come from.
SAMPLES := $(filter-out data/samples/README.md,$(wildcard data/samples/*.md data/samples/*.txt))

.PHONY: setup browser run test lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# torch first: the CPU build from the local wheel, not the multi-GB CUDA one.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

setup: $(STAMP)

# Debian's Chromium for the browser tests (never a browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

run: setup
	$(VENV)/bin/signalkb ingest $(SAMPLES)
	$(VENV)/bin/signalkb serve --host $(HOST) --port $(PORT)

test: setup browser
	$(VENV)/bin/ruff check ingest kb web tests bench
	@$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure" >&2; exit 1; fi; \
	exit $$rc

lint: setup
	$(VENV)/bin/ruff check ingest kb web tests bench
	$(VENV)/bin/ruff format --check ingest kb web tests bench

clean:
	rm -rf $(VENV) data/kb

# The shipped LoRA adapter (issue 12): `signalkb tune` on ../shared/train in two stages (90
# steps, then 80 more from stage 1's weights), about 50 minutes on two shared cores; each
# stage resumes from its checkpoint when interrupted. See docs/tune.md.
TUNE_PAIRS ?= ../shared/train
ADAPTER ?= data/adapters/smollm2-signalkb.gguf
STAGE1 ?= data/adapters/stage1.gguf
TUNE_ARGS ?= --holdout 8 --threads 1

tune: setup
	$(PY) -m pip install --quiet torch==2.13.0 -e '.[tune]'
	nice -n 5 $(VENV)/bin/signalkb tune $(TUNE_PAIRS) -o $(STAGE1) --steps 90 --seed 1234 \
	  $(TUNE_ARGS) --resume
	nice -n 5 $(VENV)/bin/signalkb tune $(TUNE_PAIRS) -o $(ADAPTER) --init-from $(STAGE1).ckpt \
	  --steps 80 --lr 2e-4 --seed 4321 $(TUNE_ARGS) --resume
