# Every target creates the virtual environment it needs (.venv) and installs
# the project into it from pyproject.toml: on a fresh machine `make demo` and
# `make test` are the whole set-up.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
export TERM := dumb
export COLUMNS := 110

.PHONY: install check lint typecheck chromium test demo benchmark-asgion benchmark-load benchmark-scale clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check asgibench tests reference_apps benchmarks
	$(BIN)/ruff format --check asgibench tests reference_apps benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck

# tests/test_report.py renders the HTML report in headless Chromium; install it (Debian/Ubuntu, as root) when missing.
chromium:
	command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

test: check chromium
	$(BIN)/pytest

# The conformance suite on a correct reference app, then on a deliberately
# broken one (which must fail: exit 1); then a short load run against the
# reference app under uvicorn, started and stopped here.
demo: $(STAMP)
	$(BIN)/asgibench conform reference_apps.raw_app:app --path GET:/stream --path POST:/echo --path ws:/ws
	@echo
	@echo "--- and a deliberately broken app (reads only the first body chunk, streams forever after a disconnect):"
	@$(BIN)/asgibench conform reference_apps.broken_demo:app --path GET:/stream --path POST:/echo; \
		status=$$?; if [ $$status -ne 1 ]; then echo "expected exit 1 from the broken app, got $$status"; exit 1; fi
	@echo
	@echo "--- load: the reference app under uvicorn, scenarios/api-mix.toml at 500 requests/s for 5 s:"
	@port=$$($(BIN)/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'); \
		$(BIN)/python -m uvicorn reference_apps.raw_app:app --port $$port --log-level warning --no-access-log & \
		server=$$!; trap "kill $$server" EXIT; \
		for attempt in $$(seq 100); do \
			$(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', $$port), 0.2)" 2>/dev/null && break; \
			sleep 0.1; \
		done; \
		$(BIN)/asgibench load http://127.0.0.1:$$port/ --scenario scenarios/api-mix.toml --duration 5s --warmup 1s

# asgibench load against wrk (and Locust's FastHttpUser) on granian and on nginx, as ratios; exit 1 when a bar
# fails. Installs nginx and wrk with apt-get (Debian/Ubuntu, as root) when missing.
benchmark-load: $(STAMP)
	command -v wrk >/dev/null && (command -v nginx || test -x /usr/sbin/nginx) >/dev/null || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nginx wrk)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check granian locust
	$(BIN)/python benchmarks/load_vs_wrk.py --duration 10 --repeat 3

# The load generator over a long run (memory must stay flat) and with 10,000 connections.
benchmark-scale: $(STAMP)
	$(BIN)/python benchmarks/load_scale.py --duration 80

# asgibench against asgion (an app-side validator, Python 3.12+) on the broken apps.
benchmark-asgion: $(STAMP)
	$(BIN)/python benchmarks/asgion_compare.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
