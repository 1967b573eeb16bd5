# Routine tasks. `make demo` and `make test` are the two commands of the README.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: demo test fmt lint typecheck migrations-check test-sqlite test-postgres test-browser bench install clean messages

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/innocommons migrate --no-input
	$(BIN)/innocommons demo --size small
	$(BIN)/innocommons serve --host 127.0.0.1 --port 8000

fmt: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy src

migrations-check: install
	INNOCOMMONS_DATA_DIR=$$(mktemp -d) $(BIN)/innocommons makemigrations --check --dry-run

test-sqlite: install
	$(BIN)/pytest -m "not browser" -q

test-postgres: install
	scripts/with-postgres $(BIN)/pytest -m "not browser" -q

test-browser: install
	$(BIN)/pytest -m browser -q

test: lint typecheck migrations-check test-sqlite test-postgres test-browser

bench: install
	$(BIN)/python -m bench

messages: install
	cd src/innocommons && INNOCOMMONS_DATA_DIR=$$(mktemp -d) DEBUG=1 ../../$(BIN)/innocommons makemessages -l zh_Hans --no-location -i "web/static/*" \
	  && INNOCOMMONS_DATA_DIR=$$(mktemp -d) DEBUG=1 ../../$(BIN)/innocommons compilemessages

clean:
	rm -rf $(VENV) build *.egg-info test-artifacts
