# joinedup: `make run` serves the demo world, `make test` runs every check.
# Both install what they need into .venv (Python) and .tools (the OPA binary).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OPA_VERSION := v1.22.2
OPA := .tools/bin/opa
# The probation simulator (graphene) needs an older graphql-core than the gateway.
PROBATION_VENV := .venv-probation

.PHONY: run test bench lint typecheck policy-test pytest install install-test opa clean bench-policy docs-images

run: $(VENV)/.installed $(PROBATION_VENV)/.installed
	$(BIN)/joinedup serve

test: lint typecheck policy-test pytest

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

$(PROBATION_VENV)/.installed: simulators/probation/requirements.txt
	test -x $(PROBATION_VENV)/bin/python || $(PYTHON) -m venv $(PROBATION_VENV)
	$(PROBATION_VENV)/bin/pip install --quiet -r simulators/probation/requirements.txt
	touch $@

$(VENV)/.installed-bench: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[bench]'
	touch $@

# The peer gateway (GraphQL Mesh + Hive Gateway) at the versions in its lockfile.
bench/peer/node_modules/.installed: bench/peer/package-lock.json
	cd bench/peer && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Not part of `make test`: about 15 minutes on 2 cores; BENCH_ARGS=--help lists options.
# BENCH_WORKERS: gateway workers for the headline figures (bench.workers compares 1 and 2).
BENCH_WORKERS ?= 2
bench: $(VENV)/.installed-bench $(PROBATION_VENV)/.installed $(OPA) bench/peer/node_modules/.installed
	$(BIN)/python -m bench.run --workers $(BENCH_WORKERS) $(BENCH_ARGS)
	$(BIN)/python -m bench.workers --out bench/results/workers.json
	$(BIN)/python -m bench.http_client --out bench/results/http_client.json
	$(BIN)/python -m bench.profile --out bench/results/profile.json \
		--cprofile bench/results/profile_cpu.txt > bench/results/profile.txt
	$(BIN)/python -m bench.batch_lookup --out bench/results/batch_lookup.json
	$(BIN)/python -m bench.batch_search --out bench/results/batch_search.json

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# OPA is built from its Go module at a pinned version with this machine's Go.
$(OPA):
	mkdir -p .tools/bin
	GOBIN=$(CURDIR)/.tools/bin go install github.com/open-policy-agent/opa@$(OPA_VERSION)
opa: $(OPA)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

policy-test: $(OPA)
	$(OPA) fmt --fail -l policies/
	$(OPA) check --strict policies/
	$(OPA) test --coverage --threshold 90 policies/ > /dev/null
	$(OPA) test -v policies/ | tail -n 1

pytest: $(VENV)/.installed-test $(PROBATION_VENV)/.installed $(OPA)
	$(BIN)/pytest

# Benchmarks are not part of `make test`: they measure, they do not pass or fail.
bench-policy: $(VENV)/.installed-test $(OPA)
	$(BIN)/python -m bench.policy_decision

# Refresh the README's screenshots of the caseworker page (docs/images/).
docs-images: $(VENV)/.installed-test
	JOINEDUP_DOC_IMAGES=1 $(BIN)/pytest -q tests/ui -k "withheld_and_masked or lane_per_agency or second_confirmation or household_map"

clean:
	rm -rf $(VENV) $(PROBATION_VENV) .tools .joinedup .pytest_cache .mypy_cache .ruff_cache test-artifacts
