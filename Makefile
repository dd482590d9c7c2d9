# The commands the README names. Each one installs what it needs first.
VENV := .foi/venv
FOI := $(VENV)/bin/foi

.PHONY: install run test lint unit compose-check stack-up stack-down

# Python environment: a venv in the state folder, the project installed editable with dev tools.
install:
	./scripts/bootstrap

# The README's run command: stack up, migrate, admin user, demo share, crawl, serve on :5000.
# Cookies are not marked Secure here only because the demo is served over plain http on loopback.
run: install
	FOI_SECURE_COOKIES=false $(FOI) demo

# The README's test command: everything up, then lint, types, import contracts and the whole
# suite under coverage, which fails below the floor in pyproject.toml ([tool.coverage.report]).
test: install
	$(FOI) stack up --test-tools
	$(MAKE) lint
	$(VENV)/bin/pytest --cov --cov-report=term

# Style, format, complexity (ruff), types (mypy) and the dependency contracts (import-linter).
lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# The unit tests alone: no services, no sockets, no coverage floor.
unit:
	$(VENV)/bin/pytest tests/unit

# Deployment check: `docker compose config` accepts docker-compose.yml (needs the Compose CLI).
compose-check:
	$(VENV)/bin/pytest -m deploy tests/deploy

stack-up: install
	$(FOI) stack up

stack-down:
	$(FOI) stack down
