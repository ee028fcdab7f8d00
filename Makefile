# Two commands for a new user: `make demo` and `make test`. Every target sets itself up.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8080
SIMULATOR := PYTHONPATH=tools $(BIN)/python -m okta_simulator
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Development only: "Basic " + base64("dev:dev-only-secret"). Deployed stacks use their own secret.
DEV_SECRET := Basic ZGV2OmRldi1vbmx5LXNlY3JldA==

.PHONY: setup test snapshots run demo smoke bench bench-catch-up mutate

# The venv is rebuilt whenever requirements.txt changes.
$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check --quiet -r requirements.txt
	touch $@

setup: $(VENV)/.installed

# pytest-xdist spreads the tests over the machine's cores (plain `pytest` runs them in one process).
test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n auto

# Records the stack's plan and the simulator's deliveries anew (tests/__snapshots__/) after a
# change to infra/ or tools/okta_simulator/payloads.py that is meant.
snapshots: setup
	$(BIN)/python -m pytest tests/test_stack.py tests/test_simulator.py \
	  -k "test_the_plan_changes_only_on_purpose or test_the_simulated_deliveries" --snapshot-update

run: setup
	@echo "Receiver (functions-framework, function/main.py:okta_event_hook) on http://127.0.0.1:$(PORT)/"
	@echo "Development secret: user dev, password dev-only-secret; Authorization: $(DEV_SECRET)"
	@echo "Try: ./okta-sim verify http://127.0.0.1:$(PORT)/ --secret '$(DEV_SECRET)'   (Ctrl-C stops)"
	@OKTA_HOOK_SECRET='$(DEV_SECRET)' $(BIN)/functions-framework \
	  --source function/main.py --target okta_event_hook --host 127.0.0.1 --port $(PORT)

# The whole flow locally: receiver up, Okta's verification and a deactivation, log line, receiver down.
demo: setup
	@PYTHONPATH=tools $(BIN)/python -m okta_simulator.demo

# Verify and deliver against the deployed stack (needs the Pulumi CLI and a deployed stack).
smoke: setup
	@command -v pulumi >/dev/null || { echo "make smoke needs the Pulumi CLI" \
	  "(https://www.pulumi.com/docs/install/) and a deployed stack; see the README's Deploy." >&2; \
	  exit 2; }
	@pulumi stack --show-name >/dev/null 2>&1 || { echo "make smoke: no Pulumi stack is" \
	  "selected here; run 'pulumi stack select <stack>' (or 'pulumi stack ls')." >&2; exit 2; }
	@url="$$(pulumi stack output functionUrl)" && \
	  OKTA_HOOK_SECRET="$$(pulumi config get okta-event-hook:hookSecret)" $(SIMULATOR) smoke "$$url"

# The receiver against a stock functions-framework's empty function and a yardstick on its own
# stack, side by side. Writes build/bench-results.md; BENCH_RESULTS=bench/results.md updates the
# committed one. Needs wrk (Debian's package), installed here when missing.
BENCH_RESULTS ?= build/bench-results.md
bench: setup
	@command -v wrk >/dev/null || $(SUDO) apt-get install -y wrk || \
	  { $(SUDO) apt-get update && $(SUDO) apt-get install -y wrk; }
	@mkdir -p $(dir $(BENCH_RESULTS))
	PYTHONPATH=tools $(BIN)/python bench/run.py --results $(BENCH_RESULTS)

# The catch-up over 10,000 events three ways (no cursor, the cursor in a Cloud Storage emulator,
# a bare reader), then 100,000 events over several passes with the cursor (bench/catch_up.py).
bench-catch-up: setup
	PYTHONPATH=tools $(BIN)/python bench/catch_up.py

# Mutation testing with mutmut, in its own venv under build/ (long: see the README).
# PARTS=function (or infra, simulator) mutates one part only.
mutate: setup
	$(BIN)/python tools/mutate.py $(PARTS)
