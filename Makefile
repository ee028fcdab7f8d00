# Two commands for a new user: `make demo` and `make test`. Every target sets itself up
# (tools/setup-venv: Python 3.11+, a venv made anew when the interpreter or the pins change).
# `make` alone lists the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8080
CATCH_UP_PORT ?= 8081
SIMULATOR := PYTHONPATH=tools $(BIN)/python -m okta_simulator
SETUP := PYTHON=$(PYTHON) VENV=$(VENV) tools/setup-venv
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Development only: "Basic " + base64("dev:dev-only-secret"). Deployed stacks use their own secret.
DEV_SECRET := Basic ZGV2OmRldi1vbmx5LXNlY3JldA==
HOOK_SECRET ?= $(DEV_SECRET)
# Handed to the recipe through the environment, so that quotes in a secret reach it unharmed.
export HOOK_SECRET

.DEFAULT_GOAL := help
.PHONY: help setup setup-demo test snapshots run run-catch-up demo smoke bench bench-catch-up mutate

help: ## list the targets
	@echo "okta-event-hook: make TARGET"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  \1\t\2/' | expand -t 18

setup: ## install everything (Pulumi, providers, test tools) into .venv
	@$(SETUP) requirements.txt

setup-demo: ## install what the function and the simulator need, no more
	@$(SETUP) requirements-demo.txt

test: setup ## lint, then every test on every core (about 3 minutes)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n auto

snapshots: setup ## record the stack's plan and the simulator's deliveries anew, after a meant change
	$(BIN)/python -m pytest tests/test_stack.py tests/test_simulator.py \
	  -k "test_the_plan_changes_only_on_purpose or test_the_simulated_deliveries" --snapshot-update

demo: setup-demo ## the whole flow locally: Okta's verification, deliveries, the catch-up, the cursor
	@PYTHONPATH=tools $(BIN)/python -m okta_simulator.demo

run: setup-demo ## the receiver on PORT (8080) with HOOK_SECRET (the development secret)
	@$(BIN)/python tools/port-free $(PORT) "make run PORT"
	@echo "Receiver (functions-framework, function/main.py:okta_event_hook) on http://127.0.0.1:$(PORT)/"
	@if [ "$$HOOK_SECRET" = "$(DEV_SECRET)" ]; then \
	  echo "Secret: the development one (user dev, password dev-only-secret): $(DEV_SECRET)"; \
	  echo "Try: ./okta-sim verify http://127.0.0.1:$(PORT)/ --secret '$(DEV_SECRET)'   (Ctrl-C stops)"; \
	else echo "Secret: yours (HOOK_SECRET, not shown)"; \
	  echo "Try: ./okta-sim verify http://127.0.0.1:$(PORT)/ --secret '<your HOOK_SECRET>'   (Ctrl-C stops)"; fi
	@OKTA_HOOK_SECRET="$$HOOK_SECRET" $(BIN)/functions-framework \
	  --source function/main.py --target okta_event_hook --host 127.0.0.1 --port $(PORT)

run-catch-up: setup-demo ## the catch-up on CATCH_UP_PORT (8081), reading a fake Okta org
	@$(BIN)/python tools/port-free $(CATCH_UP_PORT) "make run-catch-up CATCH_UP_PORT"
	@PYTHONPATH=tools $(BIN)/python -m okta_simulator.local_catch_up --port $(CATCH_UP_PORT)

smoke: ## prove the deployed stack: Okta's verification, a delivery, one catch-up pass
	@command -v pulumi >/dev/null || { echo "make smoke needs the Pulumi CLI" \
	  "(https://www.pulumi.com/docs/install/) and a deployed stack; see docs/deploying.md." >&2; \
	  exit 2; }
	@pulumi stack --show-name >/dev/null 2>&1 || { echo "make smoke: no Pulumi stack is" \
	  "selected here; run 'pulumi stack select <stack>' (or 'pulumi stack ls')." >&2; exit 2; }
	@$(SETUP) requirements-demo.txt
	@url="$$(pulumi stack output functionUrl)" && \
	  OKTA_HOOK_SECRET="$$(pulumi config get okta-event-hook:hookSecret)" $(SIMULATOR) smoke "$$url"
	@job="$$(pulumi stack output catchUpSchedulerJob 2>/dev/null)" || job=""; \
	if [ -z "$$job" ]; then echo "smoke catch-up: this stack has none (catchUp: false)"; \
	elif ! command -v gcloud >/dev/null; then echo "make smoke: checking the catch-up needs the" \
	  "gcloud CLI (https://cloud.google.com/sdk/docs/install), signed in." >&2; exit 2; \
	else PYTHONPATH=tools $(BIN)/python -m okta_simulator.smoke_catch_up "$$job" \
	  "$$(pulumi stack output catchUpService)"; fi

# The receiver against a stock functions-framework's empty function and a yardstick on its own
# stack, side by side. Writes build/bench-results.md; BENCH_RESULTS=bench/results.md updates the
# committed one. Needs wrk (Debian's package), installed here when missing.
BENCH_RESULTS ?= build/bench-results.md
bench: setup ## the receiver's throughput, latency and cold start against baselines (minutes)
	@command -v wrk >/dev/null || $(SUDO) apt-get install -y wrk || \
	  { $(SUDO) apt-get update && $(SUDO) apt-get install -y wrk; }
	@mkdir -p $(dir $(BENCH_RESULTS))
	PYTHONPATH=tools $(BIN)/python bench/run.py --results $(BENCH_RESULTS)

bench-catch-up: setup ## the catch-up with and without its cursor, then 100,000 events (3 minutes)
	PYTHONPATH=tools $(BIN)/python bench/catch_up.py

mutate: setup ## mutation testing with mutmut; PARTS=function, infra or simulator (long)
	$(BIN)/python tools/mutate.py $(PARTS)
