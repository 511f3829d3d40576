# One entry point for people and CI. `make run` starts the cluster, `make test` passes the suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help
# After `pip install uv` the shim may not be on PATH yet; the module form always works.
UV ?= $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
KAFKA := deploy/local/kafka/kafka.sh

.PHONY: help setup setup-python setup-kafka setup-postgres run test test-unit lint format bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

setup: setup-python setup-kafka setup-postgres ## Install everything the cluster and tests need

setup-python: ## Python 3.11+ deps into .venv (uv, from uv.lock)
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv>=0.9"
	@$(UV) sync --locked --quiet

setup-kafka: ## Java/Maven if missing, then the Kafka broker jars from Maven Central
	@command -v java >/dev/null && command -v mvn >/dev/null || deploy/local/install-debian-packages.sh openjdk-17-jre-headless maven
	@bash $(KAFKA) fetch

setup-postgres: ## PostgreSQL server binaries (Debian package) for the tests
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || deploy/local/install-debian-packages.sh postgresql

run: setup-python setup-kafka ## Start Kafka and all services (SQLite); Ctrl-C stops them
	@$(UV) run --no-sync python -m deploy.local.cluster

test: setup ## Run the whole suite on its own Kafka and PostgreSQL
	@$(UV) run --no-sync pytest $(PYTEST_ARGS)

test-unit: setup-python ## Only the unit tests (no Kafka, no database): seconds
	@$(UV) run --no-sync pytest -m unit $(PYTEST_ARGS)

lint: setup-python ## ruff, ruff format --check, mypy --strict
	@$(UV) run --no-sync ruff check .
	@$(UV) run --no-sync ruff format --check .
	@$(UV) run --no-sync mypy

format: setup-python ## Apply ruff fixes and formatting
	@$(UV) run --no-sync ruff check --fix .
	@$(UV) run --no-sync ruff format .

bench: setup ## Measure latency and throughput against a baseline in the same run
	@$(UV) run --no-sync python -m $(if $(BENCH),tests.bench_parts.$(BENCH),tests.bench)

clean: ## Remove local run state (databases, Kafka data, logs)
	@KAFKA_DATA_DIR=.run/kafka bash $(KAFKA) stop 2>/dev/null || true
	rm -rf .run
