# 医养结合登记系统 — two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
FLASK  := $(BIN)/flask --app wsgi
PIP    := $(BIN)/python -m pip install --quiet -c constraints.txt
# Stamps: the runtime alone (`make serve`), and the runtime plus tests and tooling (everything else).
RUNTIME := $(VENV)/.installed-runtime
DEV     := $(VENV)/.installed

.PHONY: install install-runtime run test lint translations messages serve constraints

install: $(DEV) translations

install-runtime: $(RUNTIME) translations

$(RUNTIME): requirements.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) -r requirements.txt
	touch $@

$(DEV): $(RUNTIME) requirements-dev.txt
	$(PIP) -r requirements-dev.txt
	touch $@

translations: $(RUNTIME)
	$(BIN)/pybabel -q compile -d translations

# Re-extract the source strings into messages.pot and merge them into every catalog
# (new strings arrive untranslated; tests/test_i18n.py fails until they are translated).
messages: $(RUNTIME)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 -c TRANSLATORS: --project=registry -o translations/messages.pot .
	$(BIN)/pybabel update -d translations -i translations/messages.pot

run: install
	$(FLASK) registry init
	$(FLASK) registry demo --print-logins
	@echo "医养结合登记系统: http://127.0.0.1:$(PORT)/login"
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .

# Production-style: gunicorn, 2 × cores + 1 workers, on DATABASE_URL (PostgreSQL in a deployment),
# with the runtime packages only. REGISTRY_ENV=production refuses an unset or development SECRET_KEY.
# Background jobs are left to `registry worker` processes (JOBS_WORKER=none; README, Background jobs).
WORKERS ?= $(shell echo $$(( $$(nproc) * 2 + 1 )))
serve: export REGISTRY_ENV := production
serve: export JOBS_WORKER := none
serve: install-runtime
	@$(BIN)/python -c 'import sys; from registry.config import serving_refusal; sys.exit(serving_refusal())'
	$(FLASK) registry init
	$(BIN)/gunicorn --workers $(WORKERS) --bind $(or $(BIND),127.0.0.1:$(PORT)) --access-logfile - wsgi:app

# Re-pin constraints.txt: install requirements-dev.txt into a throwaway venv (keeping the current pins)
# and freeze it, so nothing installed by hand in .venv slips in.
CONSTRAINTS_VENV := $(VENV)/.constraints-venv
constraints:
	rm -rf $(CONSTRAINTS_VENV)
	$(PYTHON) -m venv $(CONSTRAINTS_VENV)
	$(CONSTRAINTS_VENV)/bin/python -m pip install --quiet -c constraints.txt --upgrade pip
	$(CONSTRAINTS_VENV)/bin/python -m pip install --quiet -c constraints.txt -r requirements-dev.txt
	grep '^#' constraints.txt > constraints.txt.new
	$(CONSTRAINTS_VENV)/bin/python -m pip freeze --all --exclude-editable | grep -viE '^(setuptools|wheel)==' >> constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf $(CONSTRAINTS_VENV)
