# Every target bootstraps what it needs: uv (from PyPI when missing), then the locked env.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
RUN := $(UV) run --frozen --no-sync
export DAGSTER_HOME := $(CURDIR)/.dagster
export DAGSTER_DISABLE_TELEMETRY := 1
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: bootstrap demo test lint typecheck dev faults

bootstrap:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 \
		|| python3 -m pip install --quiet uv
	@$(UV) sync --frozen --quiet

demo: bootstrap
	$(RUN) freshliance-pipeline demo

lint: bootstrap
	$(RUN) ruff format --check .
	$(RUN) ruff check .
	$(RUN) sqlfluff lint dbt_project/models

typecheck: bootstrap
	$(RUN) mypy

test: lint typecheck
	$(RUN) pytest -n 2

# Every fault case alone on a larger fleet, and a table of faults, retries and outcomes.
faults: bootstrap
	$(RUN) python -m freshliance_pipeline_tests.faults

# The sandbox gateway in the background and the Dagster UI on loopback, pointed at it.
dev: bootstrap
	@mkdir -p data
	@rm -f data/sandbox.env
	@$(RUN) freshliance-pipeline sandbox --env-file data/sandbox.env & sandbox=$$!; \
	trap "kill $$sandbox" EXIT; \
	for i in $$(seq 100); do [ -f data/sandbox.env ] && break; sleep 0.2; done; \
	set -a; source data/sandbox.env; set +a; \
	$(RUN) dagster dev -w workspace.yaml -h 127.0.0.1 || [ $$? -eq 130 ]
