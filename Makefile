# Vigil — the two commands of the README's quick start, and what they need.
#
#   make up     the whole platform on embedded defaults, with simulated traffic
#   make test   every test: Python (unit, integration, end-to-end) and the browser SDK
#
# Both set up a fresh machine first: a virtualenv with the package, the SDK's npm
# packages, Debian's Chromium for browser tests. Kafka's jars are resolved from Maven
# Central by `vigil kafka` itself the first time it runs.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test test-cluster test-python test-sdk setup sdk sentry-app vitals-app chromium bench schema clean

up: setup
	$(BIN)/vigil up

test: setup sdk sentry-app vitals-app chromium
	$(BIN)/python -m pytest tests
	cd sdk-js && npm test && npm run test:e2e

# only the multi-node tests (part of `make test` too): a 3-node Kafka cluster losing a broker under
# load, two processors losing one (docs/deployment.md, "Past one host"); about 3 minutes
test-cluster: setup
	$(BIN)/python -m pytest tests -m cluster -s

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --progress-bar off -e '.[test]'
	@touch $@

sdk: sdk-js/node_modules/.package-lock.json
	cd sdk-js && npm run build

sdk-js/node_modules/.package-lock.json: sdk-js/package-lock.json
	cd sdk-js && npm ci --no-audit --no-fund

# The official Sentry browser SDK, for the test that points an unmodified Sentry setup at Vigil.
sentry-app: tests/e2e/sentry_app/node_modules/.package-lock.json

tests/e2e/sentry_app/node_modules/.package-lock.json: tests/e2e/sentry_app/package-lock.json
	cd tests/e2e/sentry_app && npm ci --no-audit --no-fund

# Google's web-vitals, its own pinned copy: the ground truth of the Web Vitals equality test.
vitals-app: tests/e2e/vitals_app/node_modules/.package-lock.json

tests/e2e/vitals_app/node_modules/.package-lock.json: tests/e2e/vitals_app/package-lock.json
	cd tests/e2e/vitals_app && npm ci --no-audit --no-fund

# Browser tests drive Debian's Chromium through playwright-core; never a downloaded browser.
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

bench: setup
	$(BIN)/python bench/collector.py
	$(BIN)/python bench/processor.py
	$(MAKE) sdk
	node bench/sdk_size.mjs
	$(BIN)/python bench/warehouse.py

# pipeline/warehouse/schema.sql from the migrations (after adding one; tests/integration/test_schema.py checks it)
schema: setup
	$(BIN)/python -m tests.support.schema_file

clean:
	rm -rf $(VENV) .vigil sdk-js/node_modules sdk-js/dist tests/e2e/sentry_app/node_modules tests/e2e/sentry_app/dist tests/e2e/vitals_app/node_modules
