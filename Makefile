# consoleclone: `make run` serves the console, `make test` runs the whole suite (see README.md).

PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000

VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet
# The tests get a data folder of their own, so they never touch the one `make run` serves.
TEST_DATA_DIR := $(CURDIR)/var/test

.PHONY: run test lint bench bench-console

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Stamps in the venv: reinstall only when a requirements file changed (or the venv is new).
$(VENV)/.installed-run: requirements.txt | $(BIN)/python
	$(PIP) install -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(PIP) install -r requirements-dev.txt
	@touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@echo ""
	@echo "consoleclone: http://$(HOST):$(PORT)/signin/"
	@echo "  Sign in: Account ID 111122223333, IAM user name Admin (or KMSAdminUser, KMSUser),"
	@echo "           password $${CONSOLECLONE_DEMO_PASSWORD:-training}"
	@echo "  AWS CLI: AWS_SHARED_CREDENTIALS_FILE=$${CONSOLECLONE_DATA_DIR:-var}/demo-credentials" \
		"aws --profile admin --region us-west-2 --endpoint-url http://$(HOST):$(PORT) kms list-keys"
	@echo "  Stop with Ctrl-C."
	@echo ""
	@exec $(BIN)/gunicorn consoleclone.wsgi:application --bind $(HOST):$(PORT) \
		--worker-class gthread --workers 2 --threads 4 --access-logfile - --no-control-socket

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The root conftest.py finds Chromium (CHROMIUM_PATH, then chromium / chromium-browser /
# google-chrome on PATH, then a Playwright-managed browser) and stops the run with a how-to
# message if there is none: browser tests are never skipped.
test: $(VENV)/.installed-dev lint
	CONSOLECLONE_DATA_DIR=$(TEST_DATA_DIR) $(BIN)/python -m pytest -ra

# The KMS API benchmark (scripts/bench_api.py, not a test) against the server `make run` is serving:
# times each operation through boto3 and prints median/p95. More: make bench BENCH_ARGS="-n 200 --populate 10000".
bench: $(VENV)/.installed-dev
	$(BIN)/python scripts/bench_api.py --endpoint-url http://$(HOST):$(PORT) \
		--credentials $${CONSOLECLONE_DATA_DIR:-var}/demo-credentials --profile admin $(BENCH_ARGS)

# The console pages with many keys (scripts/bench_console.py, not a test): in-process, on a database of its own.
bench-console: $(VENV)/.installed-dev
	$(BIN)/python scripts/bench_console.py $(BENCH_ARGS)
