# Warden: `make run` serves on http://127.0.0.1:8000, `make test` runs the suite.
# Both create .venv and install the pinned requirements first.

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	2>/dev/null && echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test faults lint superuser system-deps clean google-standin bench js-deps

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Warden needs Python 3.11 or newer on PATH."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@

# Development settings, chosen here: without DJANGO_SETTINGS_MODULE, manage.py loads
# config.settings.production, which refuses to run on development secrets.
run superuser: export DJANGO_SETTINGS_MODULE := config.settings.base

run: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py warden_setup --host $(HOST) --port $(PORT)
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(VENV)/.installed-dev
	-@$(MAKE) --no-print-directory system-deps
	-@$(MAKE) --no-print-directory js-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Fault tests alone (also part of `make test`): they start their own PostgreSQL (+ a streaming
# replica) and Redis (+ a replica and 3 sentinels) on free loopback ports, never the machine's,
# and run Warden under gunicorn on them: backend outages, workers SIGKILLed under refresh load,
# primary/master failover, a 60 s soak, bad input at volume, slow clients through nginx. Each
# prints what happened; they skip, saying why, without the binaries (SYSTEM_PACKAGES below).
# About 4 minutes on 2 cores.
faults: $(VENV)/.installed-dev
	-@$(MAKE) --no-print-directory system-deps
	$(BIN)/python -m pytest -m faults -v -s $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# A local Google (tests/google_standin.py) for trying "Sign in with Google" with no Google
# account: run it in one terminal, and `make run` with the variables it prints in another.
GOOGLE_STANDIN_PORT ?= 8001
google-standin: $(VENV)/.installed
	$(BIN)/python -m tests.google_standin --port $(GOOGLE_STANDIN_PORT)

superuser: $(VENV)/.installed
	$(BIN)/python manage.py createsuperuser

# Debian packages some tests drive (a real browser, nginx, a load tool, Apache with
# mod_auth_openidc as an OpenID relying party and with mod_oauth2 as a resource server;
# Node.js for the TypeScript SDK when the machine has none). Installed when we are root on
# a Debian-like machine; elsewhere those tests skip and say why.
# postgresql: initdb, postgres, pg_basebackup for the fault tests' private servers;
# redis-server: also Sentinel (`redis-server --sentinel`; the redis-sentinel package only adds a
# service unit). Installing them starts Debian's own instances, which the tests never touch.
SYSTEM_PACKAGES := chromium nginx-light wrk apache2 libapache2-mod-auth-openidc \
	libapache2-mod-oauth2 postgresql redis-server
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing$$missing"; \
		(apt-get install -y -qq --no-install-recommends $$missing >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $$missing >/dev/null)) \
		|| echo "Could not install$$missing; the tests that need them will skip."; \
	else echo "Not installed:$$missing (tests that need them will skip)."; fi

# The TypeScript SDK's npm packages (clients/js) and the OpenID test relying party's
# (tests/oidc/js), where npm exists; elsewhere their tests skip.
JS_SDK := clients/js
$(JS_SDK)/node_modules/.installed: $(JS_SDK)/package.json $(JS_SDK)/package-lock.json
	cd $(JS_SDK) && npm ci --no-audit --no-fund
	@touch $@

# The seed documents' client code (tests/seeds) runs against Warden with its own npm packages.
SEED_FIXTURES := tests/seeds
$(SEED_FIXTURES)/node_modules/.installed: $(SEED_FIXTURES)/package.json $(SEED_FIXTURES)/package-lock.json
	cd $(SEED_FIXTURES) && npm ci --no-audit --no-fund
	@touch $@

# openid-client, the Node relying party of tests/oidc/test_node_rp.py.
OIDC_RP_JS := tests/oidc/js
$(OIDC_RP_JS)/node_modules/.installed: $(OIDC_RP_JS)/package.json $(OIDC_RP_JS)/package-lock.json
	cd $(OIDC_RP_JS) && npm ci --no-audit --no-fund
	@touch $@

js-deps:
	@if command -v npm >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(JS_SDK)/node_modules/.installed \
			$(SEED_FIXTURES)/node_modules/.installed $(OIDC_RP_JS)/node_modules/.installed; \
	else echo "Not installed: npm (the TypeScript SDK, seed and openid-client tests will skip)."; fi

# --- Benchmark (bench/run.py): servers compared, then Warden (BENCH_SERVER, default granian)
# against vanilla SimpleJWT (gunicorn sync), on PostgreSQL + Redis, with targets held or missed.
# `make bench BENCH_SECONDS=30`, `make bench BENCH_SERVER=gunicorn-gthread`, `BENCH_SCALE=1`
# (1,000,000 sessions); other knobs are BENCH_* in bench/run.py.
BENCH_SECONDS ?= 10
$(VENV)/.installed-bench: bench/requirements.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r bench/requirements.txt
	@touch $@

bench: $(VENV)/.installed-bench
	-@$(MAKE) --no-print-directory system-deps
	BENCH_SECONDS=$(BENCH_SECONDS) $(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache staticfiles
