# Redis for the class relay's tests and bench (included by the main Makefile).
#   make redis-deps          Debian's redis-server, installed with apt-get when missing
#   make relay-test          only the relay tests, on the in-memory backend and on a private Redis
# The tests need only the `redis-server` binary: coach/relay/local_redis.py starts a private
# server on 127.0.0.1 at a free port in a temporary folder (no system service is used or
# configured) and removes it afterwards. Without the binary the Redis cases skip and say
# why, except on CI (CI=true), where they fail.

RELAY_PY ?= $(if $(PY),$(PY),.venv/bin/python)

.PHONY: redis-deps relay-test

redis-deps:
	@if command -v redis-server >/dev/null 2>&1; then \
		echo "redis-deps: redis-server present"; \
	elif [ "$$(id -u)" != "0" ]; then \
		echo "redis-deps: redis-server missing; not root, skipping (run: sudo apt-get install -y redis-server)."; \
		echo "redis-deps: the Redis relay tests will be skipped until then."; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "redis-deps: redis-server missing and no apt-get here; the Redis relay tests will be skipped."; \
	else \
		echo "redis-deps: installing redis-server with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server; \
	fi

relay-test: redis-deps
	$(RELAY_PY) -m pytest tests/test_relay_core.py tests/test_relay_server.py -v
