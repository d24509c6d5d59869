# PostgreSQL for the session-store tests (included by the main Makefile).
#   make postgres-deps          Debian's PostgreSQL server, installed with apt-get when missing
#   make postgres-test          only the store tests, on SQLite and on a private PostgreSQL
#   make postgres-test-server   a throwaway PostgreSQL on 127.0.0.1 in the foreground (Ctrl-C ends it)
# The tests need only the server binaries: tests/pg_server.py runs initdb into a temporary
# folder and starts a private server on loopback at a free port (as user `postgres` when run
# as root), and removes it afterwards. Nothing here configures or relies on a system cluster.
# Without the binaries the PostgreSQL cases skip and say why; the SQLite cases always run.

STORE_PY ?= $(if $(PY),$(PY),.venv/bin/python)
PG_INITDB_GLOB ?= /usr/lib/postgresql/*/bin/initdb

.PHONY: postgres-deps postgres-test postgres-test-server

postgres-deps:
	@if command -v initdb >/dev/null 2>&1 || ls $(PG_INITDB_GLOB) >/dev/null 2>&1; then \
		echo "postgres-deps: PostgreSQL server binaries present"; \
	elif [ "$$(id -u)" != "0" ]; then \
		echo "postgres-deps: PostgreSQL server missing; not root, skipping (run: sudo apt-get install -y postgresql)."; \
		echo "postgres-deps: the PostgreSQL store tests will be skipped until then."; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "postgres-deps: PostgreSQL server missing and no apt-get here; the PostgreSQL store tests will be skipped."; \
	else \
		echo "postgres-deps: installing postgresql with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql; \
	fi

postgres-test: postgres-deps
	$(STORE_PY) -m pytest tests/test_store.py -v

postgres-test-server: postgres-deps
	$(STORE_PY) tests/pg_server.py
