# The obvious verbs. Everything runs in .venv, built with a Python 3.13 found by scripts/find-python313.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Tests import the shared package from the layer source, as Lambda does from /opt/python.
export PYTHONPATH := $(CURDIR)/layers/orchestrator:$(CURDIR)
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: venv test test-slow test-aws lint unit integration template local-invoke e2e build demo stack invoke-image bench clean fmt

venv: $(STAMP)
$(STAMP): requirements-dev.txt layers/orchestrator/requirements.txt pyproject.toml
	@test -x $(PY) || $$(scripts/find-python313) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .   # the sio command (cli/sio); its dependencies are pinned above
	@touch $@

lint: venv
	ruff check .
	ruff format --check .
	mypy
	lint-imports --no-cache

unit: venv
	pytest tests/unit

integration: venv
	pytest tests/integration

template: venv
	pytest tests/template

local-invoke: venv
	pytest tests/local_invoke

e2e: venv
	pytest tests/e2e

# The whole suite, as CI runs it (.ci/run). Branch coverage of the product, the local stack and sio,
# subprocesses included (pyproject.toml [tool.coverage.run] patch), each held to its own floor.
COVERED := --cov=layers/orchestrator/orchestrator --cov=functions --cov=local --cov=cli/sio
test: lint
	rm -f .coverage .coverage.*
	pytest tests -m "not slow" -n 2 --dist loadgroup $(COVERED) --cov-branch --cov-report=term-missing:skip-covered --durations=12
	scripts/coverage-floors "layer and handlers=layers/*,functions/*:90" "local stack=local/*:85" "sio=cli/sio/*:85"

# The long scenarios (marked slow): CI runs them after `make test` (.ci/run).
test-slow: venv
	pytest tests -m slow --durations=5

# The opt-in tier for people with an AWS account: the deployed stack STACK checks itself end to end
# (sio selftest; README "Operating the stack" lists the permissions). The region is yours (REGION=, or
# AWS_REGION / your profile's), never the us-east-1 default the offline targets export.
test-aws: venv
	@if [ -z "$(STACK)" ]; then \
	  echo "make test-aws needs the name of a deployed stack: make test-aws STACK=<name> [REGION=<region>]" >&2; \
	  echo "(it runs sio selftest --stack <name> with your AWS credentials; the offline tiers need no account)" >&2; \
	  exit 2; \
	fi
	$(if $(filter file,$(origin AWS_DEFAULT_REGION)),env -u AWS_DEFAULT_REGION) sio $(if $(REGION),--region $(REGION)) selftest --stack "$(STACK)"

build: venv
	sam build --cached --parallel

# The whole product offline (local/): moto server, SageMaker stand-in, demo model, trigger runner.
demo: venv
	$(PY) -m local.demo

# The same stack, kept running for interactive use (Ctrl-C stops it).
stack: venv
	$(PY) -m local.stack

# The offline stand-in for the Lambda Python 3.13 image used by `sam local invoke` (needs Docker, root).
invoke-image: venv
	scripts/build-invoke-image

bench: venv
	$(PY) -m tests.bench

fmt: venv
	ruff format .
	ruff check --fix .

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.*
