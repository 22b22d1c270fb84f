# Two commands for a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
export PORT

.PHONY: run test install lint lock check-deploy clean bench bench-health messages

# German and French: locale/*/LC_MESSAGES/*.po, compiled to .mo (build output, not committed).
MO := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/*.po))

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Python dependencies, pinned by requirements.lock (regenerate with `make lock`).
$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	$(BIN)/python scripts/translations.py compile
	touch $@

# A .po edited after the install is compiled again (polib: no GNU gettext needed).
%.mo: %.po | $(VENV)/.installed
	$(BIN)/python scripts/translations.py compile $<

# After code changes: refresh both catalogues from the source, compile, list what needs translating.
messages: $(VENV)/.installed
	$(BIN)/python scripts/translations.py update

install: $(VENV)/.installed $(MO)

run: $(VENV)/.installed $(MO)
	$(BIN)/python manage.py migrate --noinput --verbosity 0
	$(BIN)/python manage.py seed_sandbox
	PY=$(BIN)/python bash scripts/run-dev.sh

# Health checks of 10,000 setups against the emulator with 1, 2 and 4 workers (a few minutes; 127.0.0.1 only).
bench-health: $(VENV)/.installed
	$(BIN)/python scripts/bench_health.py

# `make lint` first: a fresh clone's `.[dev]` install brings every tool it runs (pre-commit, ruff, djade,
# typos, mypy, django-stubs), and pre-commit needs no network and no git hook installed.
test: lint $(MO)
	bash scripts/install-test-deps.sh
	bash scripts/test.sh

# Benchmarks (not tests, not part of `make test`): pages under gunicorn + PostgreSQL + the emulator as its
# own process, then background health checks with 1, 2 and 4 workers; see README.md.
bench: $(VENV)/.installed
	$(BIN)/python scripts/bench.py
	$(BIN)/python scripts/bench_health.py
	$(BIN)/python scripts/bench_ops.py
	$(BIN)/python scripts/bench_api.py

# ruff (check + format), djade (templates) and typos through pre-commit (.pre-commit-config.yaml,
# no network needed), then mypy (strict) on the whole package, then import-linter (the layer rules and
# no import cycles: [tool.importlinter] in pyproject.toml).
lint: $(VENV)/.installed
	$(BIN)/pre-commit run --all-files --show-diff-on-failure
	$(BIN)/mypy portal
	$(BIN)/lint-imports

lock:
	$(BIN)/python -m pip freeze --exclude-editable > requirements.lock

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 tests/oidc/node_modules
