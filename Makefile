# `make run` starts the whole system on embedded defaults; `make test` runs lint and every test.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
export DJANGO_SETTINGS_MODULE ?= apps.api.config.settings.dev

.PHONY: install run test lint services

install: $(VENV)/.installed

$(VENV)/.installed: requirements/base.txt requirements/api.txt requirements/worker.txt requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements/dev.txt
	touch $@

run: install
	mkdir -p var/static
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(VENV)/bin/honcho -d . -f scripts/Procfile.dev start

services: install
	$(PY) scripts/check_services.py

lint: install
	$(VENV)/bin/ruff check .

test: services lint
	DJANGO_SETTINGS_MODULE=apps.api.config.settings.test $(VENV)/bin/pytest $(PYTEST_ARGS)
