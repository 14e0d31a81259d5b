# 医养结合登记系统 — two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
FLASK  := $(BIN)/flask --app wsgi

.PHONY: install run test lint translations messages serve

install: $(VENV)/.installed translations

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel -q compile -d translations

# Re-extract the source strings into messages.pot and merge them into every catalog
# (new strings arrive untranslated; tests/test_i18n.py fails until they are translated).
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -c TRANSLATORS: --project=registry -o translations/messages.pot .
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

# Production-style: gunicorn, 2 × cores + 1 workers, on DATABASE_URL (PostgreSQL in a deployment).
WORKERS ?= $(shell echo $$(( $$(nproc) * 2 + 1 )))
serve: install
	$(FLASK) registry init
	$(BIN)/gunicorn --workers $(WORKERS) --bind $(or $(BIND),127.0.0.1:$(PORT)) --access-logfile - wsgi:app
