# One command to start the service locally, one to run every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
STAGE  ?= local
PORT   ?= 8000

.PHONY: install console lint openapi-tools test test-fast run clean browser bench-read bench bench-burst bench-schemas simulate fuzz policy check-policy package lint-templates provision deploy

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip<26.3"  # chalice 1.34 packages with pip and pins it
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# The npm packages tests/test_openapi_clients.py runs on /openapi.json (Spectral, Redocly,
# openapi-typescript, tsc), as tests/clients/package-lock.json locks them; again when it changes.
CLIENTS       := tests/clients
CLIENTS_STAMP := $(CLIENTS)/node_modules/.installed-$(shell cat $(CLIENTS)/package-lock.json | sha1sum | cut -c1-12)

$(CLIENTS_STAMP): $(CLIENTS)/package.json $(CLIENTS)/package-lock.json
	@command -v npm >/dev/null || { echo "make test needs npm (Node.js 20+) for tests/clients: apt-get install nodejs npm" >&2; exit 1; }
	cd $(CLIENTS) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

openapi-tools: $(CLIENTS_STAMP)

# The console (`console/`): its npm packages as console/package-lock.json locks them, then
# the build (esbuild) into chalicelib/console/assets/, which the API serves and the Lambda
# package carries; built again when a source or the lock changes.
CONSOLE_DIR   := console
CONSOLE_STAMP := $(CONSOLE_DIR)/node_modules/.installed-$(shell cat $(CONSOLE_DIR)/package-lock.json | sha1sum | cut -c1-12)
CONSOLE_BUILT := chalicelib/console/assets/manifest.json

$(CONSOLE_STAMP): $(CONSOLE_DIR)/package.json $(CONSOLE_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo "the console is built with npm (Node.js 18+): apt-get install nodejs npm" >&2; exit 1; }
	cd $(CONSOLE_DIR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

$(CONSOLE_BUILT): $(CONSOLE_STAMP) $(CONSOLE_DIR)/build.mjs $(wildcard $(CONSOLE_DIR)/src/*)
	cd $(CONSOLE_DIR) && node build.mjs

console: $(CONSOLE_BUILT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

test: lint check-policy lint-templates browser openapi-tools console
	@command -v node >/dev/null || { echo "make test needs Node.js 18+ for frontend/'s tests: apt-get install nodejs" >&2; exit 1; }
	node --test frontend/*.test.js console/test/*.test.js
	$(BIN)/python -m pytest -n 2 --dist loadfile

# tests/test_browser.py drives Debian's Chromium through its chromedriver. As root (CI)
# they are installed when missing; otherwise this says how. Never a downloaded browser.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	else \
	  echo "make test needs Debian's chromium and chromium-driver: sudo apt-get install chromium chromium-driver" >&2; \
	  exit 1; \
	fi

# The release path (README, "Release"). STAGE=dev or prod; `make policy` alone does every
# deployable stage. Only provision and deploy reach AWS.
POLICY_STAGES = $(if $(filter command line environment,$(origin STAGE)),--stage $(STAGE))

policy: install
	$(BIN)/python -m infra policy $(POLICY_STAGES)

check-policy: install
	$(BIN)/python -m infra policy --check

package: install console
	$(BIN)/python -m infra package --stage $(STAGE)

lint-templates: install
	$(BIN)/python -m infra lint-templates

provision: install
	$(BIN)/python -m infra provision --stage $(STAGE)

deploy: install console
	$(BIN)/python -m infra deploy --stage $(STAGE)

test-fast: install openapi-tools console
	$(BIN)/python -m pytest -x -q -m "not e2e"

# The public read route against a bare route, through the local stack (not a test).
bench-read: install
	$(BIN)/python -m bench.read_path $(ARGS)

# Cold start, AWS calls per request type, package size and the burst benchmark, as one
# table; the figures go to docs/benchmarks.md. A few minutes; bench-burst is the burst alone.
bench: install console
	$(BIN)/python -m bench $(ARGS)

bench-burst: install
	$(BIN)/python -m bench --only burst $(ARGS)

# A burst against a deployed stage's limits, on paper (docs/capacity.md): queue depth, the
# oldest write's age, the time to drain, the write-queue-age alarm. No AWS; under a second.
# ARGS="--rate 10000 --duration 60 --sites 1000 --stage prod"; --help lists the rest.
simulate: install
	$(BIN)/python -m bench.simulate $(ARGS)

# The JSON Schema libraries compared (docs/benchmarks.md, "Settings schemas"): each is pip
# installed into a temporary directory (the registry must be reachable). Under a minute.
bench-schemas: install
	$(BIN)/python -m bench.schema_libraries $(ARGS)

# The fuzz and fault tests of `make test`, with many more examples and a fresh seed: about
# 16 minutes on 2 otherwise idle cores. (Each test keeps one moto backend for all its
# examples, and hypothesis keeps every example's choices: memory grows with the count; one
# process peaked at 8.4 GB in a run of these counts.)
fuzz: install
	CONTRACT_FUZZ_EXAMPLES=200 CONTRACT_FUZZ_SEED= FAULT_EXAMPLES=150 FAULT_RELEASE_EXAMPLES=60 FAULT_RANDOM=1 FUZZ_WORKER_EXAMPLES=300 \
	  $(BIN)/python -m pytest -q -n 2 --dist loadfile tests/test_fuzz_contract.py tests/test_fuzz_worker.py tests/test_faults.py

run: install console
	$(BIN)/python -m devstack --port $(PORT) $(if $(SEED),--seed $(SEED)) $(if $(AWS),--aws) $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
