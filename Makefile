# The README's commands. `make run` = broker + worker + web page; `make test` = the whole suite.
# Both install what they need first (idempotent), so they work on a fresh machine.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := chromium fonts-dejavu-core poppler-utils openssl

.PHONY: run test setup system-deps venv kafka-start kafka-stop kafka-status lint unit integration bench bench-latency bench-services bench-rss faults faults-test clean

run: setup kafka-start
	@echo "LogiFlow worker starting; stats page on http://$${LOGIFLOW_WEB_HOST:-127.0.0.1}:$${LOGIFLOW_WEB_PORT:-6066}/"
	$(BIN)/logiflow worker -l info

test: setup kafka-start lint
	$(BIN)/pytest -p no:cacheprovider --durations=15

# The bounded fault campaign and the rebalance test alone (`make test` runs them too).
faults-test: setup kafka-start
	$(BIN)/pytest -p no:cacheprovider -m faults -s tests/integration

setup: system-deps venv

# Java 17+ and Maven run the broker; chromium drives the browser tests; poppler for PDF checks;
# openssl makes the TLS certificates of the secured-broker tests.
system-deps:
	@missing=""; \
	command -v java >/dev/null || missing="$$missing default-jre-headless"; \
	command -v mvn >/dev/null || missing="$$missing maven"; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(BIN)/logiflow: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $(BIN)/logiflow

venv: $(BIN)/logiflow

kafka-start: venv
	$(BIN)/logiflow kafka start

kafka-stop: venv
	$(BIN)/logiflow kafka stop

kafka-status: venv
	$(BIN)/logiflow kafka status

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest -p no:cacheprovider tests/unit tests/functional

integration: venv kafka-start
	$(BIN)/pytest -p no:cacheprovider tests/integration

bench: setup kafka-start
	$(BIN)/python -m bench.run

# Per-event latency at 5, 50 and 100 requests/s against a worker with make run's defaults.
bench-latency: setup kafka-start
	$(BIN)/python -m bench.latency

# Services that never wait for each other: routing with and without an invoicing worker draining
# a backlog (each pinned to its own CPU), and the drain rate of one and two invoicing workers.
bench-services: setup kafka-start
	$(BIN)/python -m bench.services

# Memory: RSS of an invoicing worker and its renderers over a 100,000-invoice drain.
bench-rss: setup kafka-start
	$(BIN)/python -m bench.rss

# The fault campaign (bench/faults, not part of `make test`): SEED=<n> replays a schedule,
# PLAN=default|single|small, FAULTS=kind:n,... replaces the plan's faults. It starts the
# broker(s) it needs; prints the seed first and the figures last (bench/results/faults-<seed>.json).
SEED ?=
PLAN ?= default
FAULTS ?=
faults: setup
	$(BIN)/python -m bench.faults --plan $(PLAN) $(if $(SEED),--seed $(SEED)) $(if $(FAULTS),--faults $(FAULTS))

clean:
	rm -rf .logiflow artifacts
