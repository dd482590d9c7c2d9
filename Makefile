# The commands the README names. Each one installs what it needs first.
VENV := .foi/venv
FOI := $(VENV)/bin/foi

.PHONY: install run test lint unit stack-up stack-down

# Python environment: a venv in the state folder, the project installed editable with dev tools.
install:
	./scripts/bootstrap

# The README's run command: stack up, migrate, admin user, demo share, crawl, serve on :5000.
# Cookies are not marked Secure here only because the demo is served over plain http on loopback.
run: install
	FOI_SECURE_COOKIES=false $(FOI) demo

# The README's test command: everything up, then lint, types and the whole suite.
test: install
	$(FOI) stack up --test-tools
	$(MAKE) lint
	$(VENV)/bin/pytest

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

unit:
	$(VENV)/bin/pytest tests/unit

stack-up: install
	$(FOI) stack up

stack-down:
	$(FOI) stack down
