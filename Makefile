# `make run` starts the whole system on embedded defaults; `make test` runs lint and every test.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
export DJANGO_SETTINGS_MODULE ?= apps.api.config.settings.dev

.PHONY: install run test lint services deps-lock deps-audit

install: $(VENV)/.installed

$(VENV)/.installed: requirements/base.txt requirements/api.txt requirements/worker.txt requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q --require-hashes -r requirements/dev.txt
	touch $@

# honcho reads no .env (-e /dev/null): each process's settings read it, and the real environment wins over it, as
# for migrate and seed_demo. DEV_API_PORT=8100 API_BASE_URL=http://127.0.0.1:8100 make run serves another port.
run: install
	mkdir -p var/static
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "SECRET_KEY and the internal tokens not set in .env: made once in DEV_SECRETS_DIR (var/secrets/) and shared by the API, the workers and the local Batch runner (delete a file to rotate it)."
	@# A newcomer marking a student ABSENT sees the parent's notice in the outbox after a minute, not ten (the production
	@# default); a value in the environment wins.
	MESSAGING_NOTICE_GRACE_SECONDS=$${MESSAGING_NOTICE_GRACE_SECONDS:-60} $(VENV)/bin/honcho -d . -e /dev/null -f scripts/Procfile.dev start

services: install
	$(PY) scripts/check_services.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/cfn-lint infra/cloudformation/*.yaml
	$(VENV)/bin/hadolint docker/*/Dockerfile

test: services lint
	DJANGO_SETTINGS_MODULE=apps.api.config.settings.test $(VENV)/bin/pytest $(PYTEST_ARGS)

# requirements/*.in name the direct dependencies; deps-lock compiles each .txt with every transitive dependency and
# its hashes, base first, then worker within base's versions, api within worker's, then dev within theirs (docs/decisions/0021).
# Edit a .in file, run this, commit both. `DEPS_LOCK_ARGS=--upgrade-package=boto3 make deps-lock` moves one package.
PIP_COMPILE := $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links $(DEPS_LOCK_ARGS)

deps-lock: install
	$(PIP_COMPILE) -o requirements/base.txt requirements/base.in
	$(PIP_COMPILE) -o requirements/worker.txt requirements/worker.in
	$(PIP_COMPILE) -o requirements/api.txt requirements/api.in
	$(PIP_COMPILE) -o requirements/dev.txt requirements/dev.in

# Known vulnerabilities in the locked versions (pip-audit asks the PyPI JSON API). Exit 0 with a notice when the
# service cannot be reached, 1 when a vulnerability is found.
deps-audit: install
	$(PY) scripts/deps_audit.py requirements/dev.txt
