# Real-browser test dependencies (included by the main Makefile).
#   make browser-deps   Debian's chromium (+ iproute2 for `ip`, util-linux for `unshare`)
#   make browser-test   only the real-browser end-to-end tests
#   make bench-live     60 s live run in headless chromium: processing p95 + end-to-end latency
# Playwright drives /usr/bin/chromium; never `playwright install` (it downloads a browser).



.PHONY: browser-deps browser-test bench-live

browser-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v ip >/dev/null 2>&1 || missing="$$missing iproute2"; \
	command -v unshare >/dev/null 2>&1 || missing="$$missing util-linux"; \
	if [ -z "$$missing" ]; then \
		echo "browser-deps: chromium, ip and unshare present"; \
	elif [ "$$(id -u)" != "0" ]; then \
		echo "browser-deps: missing:$$missing; not root, skipping (run: sudo apt-get install -y$$missing)."; \
		echo "browser-deps: the real-browser tests will be skipped until then."; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "browser-deps: missing:$$missing and no apt-get here; the real-browser tests will be skipped."; \
	else \
		echo "browser-deps: installing$$missing with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

browser-test: browser-deps
	$(PY) -m pytest -m browser tests/test_browser.py -v

bench-live: browser-deps
	$(PY) tests/browser/bench_live.py --duration 60
