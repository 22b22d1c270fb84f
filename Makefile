# Two commands for a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
export PORT

.PHONY: run test install lint check-deploy clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Python dependencies, pinned by requirements.lock (regenerate with `make lock`).
$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput --verbosity 0
	$(BIN)/python manage.py seed_sandbox
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: $(VENV)/.installed
	bash scripts/install-test-deps.sh
	bash scripts/test.sh

# Benchmark (not a test): gunicorn + PostgreSQL + the emulator as its own process; see README.md.
bench: $(VENV)/.installed
	$(BIN)/python scripts/bench.py

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy portal

lock:
	$(BIN)/python -m pip freeze --exclude-editable > requirements.lock

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 tests/oidc/node_modules
