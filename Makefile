# Rung: `make chat` and `make test` do all the set-up (a .venv with the project installed).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PACKAGES := -p rung.agent -p rung.tools -p rung.memory -p rung.config
# sentence-transformers needs torch; without a pin pip picks the newest build, which on
# Linux is the CUDA one (several GB). Set TORCH= (empty) to let pip choose.
TORCH ?= torch==2.13.0

.PHONY: chat test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(if $(TORCH),$(BIN)/python -m pip install --quiet '$(TORCH)')
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

chat: $(STAMP)
	$(BIN)/rung chat

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# mypy cannot see through the editable install's import hook; give it the `rung` name
# through a link to the checkout.
typecheck: $(STAMP)
	@mkdir -p $(VENV)/typecheck && ln -sfn ../.. $(VENV)/typecheck/rung
	cd $(VENV)/typecheck && ../bin/mypy --config-file ../../pyproject.toml $(PACKAGES)

pytest: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench.startup
	$(BIN)/python -m bench.loop_overhead
	$(BIN)/python -m bench.mcp_overhead
	$(BIN)/python -m bench.memory_ingest
	$(BIN)/python -m bench.memory_query
	$(BIN)/python -m bench.memory_recall

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
