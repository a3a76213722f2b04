# Two commands set everything up on a fresh machine:
#   make demo   builds the sample issue and sends it to the local outbox (creates .venv on first use)
#   make test   lints (ruff), type-checks (mypy) and runs the whole test suite (creates .venv on first use)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLE := issues/2026-11-24.yaml

.PHONY: demo test bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/newsletter build $(SAMPLE)
	$(BIN)/newsletter subscribers import sample-subscribers.csv
	$(BIN)/newsletter send $(SAMPLE)
	@echo
	@echo "Built: open build/2026-11-24/email.html in a browser, or build/2026-11-24/email.eml in a mail client."
	@echo "Sent to the local outbox: outbox/ is a Maildir, one message per subscriber in outbox/new/"
	@echo "(open one with any mail client, e.g. rename it to .eml, or run: mutt -f outbox)."

test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: $(BIN)/.installed
	for script in bench/*_bench.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) build outbox subscribers.db
