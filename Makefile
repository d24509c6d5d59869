# Stroke Coach. Quick start: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
MODEL  := models/hand_landmarker.task
LITE   := models/hand_landmarker_lite.task

.PHONY: setup run test lint bench samples eval clean browser-deps

setup: $(STAMP) $(MODEL) $(LITE)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -c "import coach.core.matcher as m; m.warm_up()"  # compile the matcher's step once
	touch $(STAMP)

$(MODEL) $(LITE): | $(STAMP)
	$(PY) -m coach models fetch

# Loopback only by default: nobody else on the network reaches the page. To serve
# other machines, choose it explicitly (every visitor then signs in; docs/privacy.md):
#   make run HOST=0.0.0.0
HOST ?= 127.0.0.1

run: setup
	$(VENV)/bin/streamlit run app.py --server.headless true --server.address $(HOST) \
		--browser.gatherUsageStats false

lint: $(STAMP)
	$(PY) -m ruff check .

test: setup browser-deps postgres-deps redis-deps lint
	$(PY) -m pytest

bench: setup
	$(PY) -m coach bench

samples: setup
	$(PY) -m coach samples make

eval: setup  # the full evaluation set (docs/eval-baseline.md); clips cached in samples/eval
	$(PY) -m coach eval --subset full --jobs 2

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache

-include mk/browser.mk
-include mk/postgres.mk
-include mk/redis.mk
