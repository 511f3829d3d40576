# One entry point for people and CI. `make run` starts the cluster, `make test` passes the suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help
# uv: the one on PATH, else the one setup-python installs into a virtual environment of its
# own (Debian's python3 refuses pip installs outside one, PEP 668).
UV_HOME := $(CURDIR)/.cache/uv
UV ?= $(shell command -v uv 2>/dev/null || echo $(UV_HOME)/bin/uv)
# The interpreter of .venv: the distribution's where it has 3.11-3.13. Debian's python3.11 is
# one static binary built with profile-guided and link-time optimisation, as the images'
# python:3.12 is; pyenv's default build (libpython as a shared library, neither optimisation)
# runs the services a sixth slower (README, Performance). `make setup-python PYTHON=` lets uv
# choose.
PYTHON ?= $(firstword $(wildcard /usr/bin/python3.13 /usr/bin/python3.12 /usr/bin/python3.11))
KAFKA := deploy/local/kafka/kafka.sh
BENCH_PARTS := e2e signatures declarations ipr routing gateway
# Helm for the chart's tests: the one on PATH if any, else built once from the Go module proxy,
# with GOTOOLCHAIN=auto so that any Go >= 1.21 fetches the newer Go that Helm's go.mod asks for.
HELM_VERSION := v3.22.0
HELM := $(CURDIR)/.cache/bin/helm
GO ?= $(shell command -v go 2>/dev/null || ls /usr/local/go/bin/go 2>/dev/null || echo go)
# One image per service (each folder with a Dockerfile), tagged <IMAGE_REGISTRY>/<service>:<IMAGE_TAG>.
IMAGE_REGISTRY ?= customs
IMAGE_TAG ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
IMAGE_SERVICES := $(patsubst %/Dockerfile,%,$(wildcard */Dockerfile))

.PHONY: help setup setup-python setup-kafka setup-postgres setup-redis setup-helm setup-node run test test-unit lint format bench profile soak images clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

setup: setup-python setup-kafka setup-postgres setup-redis setup-helm setup-node ## Install everything the cluster and tests need

setup-python: ## Python 3.11+ deps into .venv (uv, from uv.lock)
	@$(UV) --version >/dev/null 2>&1 || { \
	  python3 -c 'import ensurepip' 2>/dev/null || deploy/local/install-debian-packages.sh python3-venv; \
	  python3 -m venv $(UV_HOME) && $(UV_HOME)/bin/pip install --quiet "uv>=0.9"; }
	@$(UV) sync --locked --quiet $(if $(PYTHON),--python $(PYTHON))

setup-kafka: ## Java/Maven if missing, then the Kafka broker jars from Maven Central
	@command -v java >/dev/null && command -v mvn >/dev/null || deploy/local/install-debian-packages.sh openjdk-17-jre-headless maven
	@bash $(KAFKA) fetch

setup-postgres: ## PostgreSQL server binaries (Debian package) for the tests
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || deploy/local/install-debian-packages.sh postgresql

setup-redis: ## Redis server (Debian package) for the shared rate-limit tests
	@command -v redis-server >/dev/null 2>&1 || deploy/local/install-debian-packages.sh redis-server

setup-node: ## Node (Debian's if missing) and the Strimzi schema check's npm packages (from its lock)
	@command -v npm >/dev/null 2>&1 || deploy/local/install-debian-packages.sh nodejs npm
	@npm ci --prefix tests/deploy/strimzi --no-audit --no-fund --silent

setup-helm: ## Helm (for the chart tests) into .cache/bin: the one on PATH, or built with Go
	@if [ -x $(HELM) ]; then :; \
	elif command -v helm >/dev/null; then mkdir -p $(dir $(HELM)) && ln -sf "$$(command -v helm)" $(HELM); \
	else command -v $(GO) >/dev/null || deploy/local/install-debian-packages.sh golang-go; \
	  echo "building helm $(HELM_VERSION) from the Go module proxy (once; a few minutes)"; \
	  GOTOOLCHAIN=auto GOBIN=$(dir $(HELM)) GOFLAGS=-trimpath $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION); fi

run: setup-python setup-kafka ## Start Kafka and all services (SQLite); Ctrl-C stops them
	@$(UV) run --no-sync python -m deploy.local.cluster

test: setup ## Run the whole suite on its own Kafka and PostgreSQL
	@$(UV) run --no-sync pytest $(PYTEST_ARGS)

test-unit: setup-python setup-helm setup-node ## Only the unit tests (no Kafka, no database): seconds
	@$(UV) run --no-sync pytest -m unit $(PYTEST_ARGS)

lint: setup-python ## ruff, ruff format --check, mypy --strict
	@$(UV) run --no-sync ruff check .
	@$(UV) run --no-sync ruff format --check .
	@$(UV) run --no-sync mypy

format: setup-python ## Apply ruff fixes and formatting
	@$(UV) run --no-sync ruff check --fix .
	@$(UV) run --no-sync ruff format .

bench: setup-python setup-kafka setup-postgres ## Measure against baselines in the same run; BENCH=<part> runs one ($(BENCH_PARTS))
	@for part in $(or $(BENCH),$(BENCH_PARTS)); do \
	  $(UV) run --no-sync python -m tests.bench_parts.$$part || exit 1; done

profile: setup-python setup-kafka setup-postgres ## py-spy flame graphs of every service under the e2e load, into .bench/profiles/
	@$(UV) run --no-sync python -m tests.bench_parts.profile

soak: setup-python setup-kafka setup-postgres ## SOAK_SECONDS (600) at SOAK_RATE (half the e2e rate): memory, latency trend, errors
	@$(UV) run --no-sync python -m tests.bench_parts.soak

images: ## Build one image per service (needs Docker with BuildKit)
	@command -v docker >/dev/null || { echo "make images needs Docker (BuildKit)"; exit 1; }
	@for service in $(IMAGE_SERVICES); do \
	  echo "building $(IMAGE_REGISTRY)/$$service:$(IMAGE_TAG)"; \
	  DOCKER_BUILDKIT=1 docker build -f $$service/Dockerfile -t $(IMAGE_REGISTRY)/$$service:$(IMAGE_TAG) . || exit 1; \
	done

clean: ## Remove local run state (databases, Kafka data, logs)
	@KAFKA_DATA_DIR=.run/kafka bash $(KAFKA) stop 2>/dev/null || true
	rm -rf .run
