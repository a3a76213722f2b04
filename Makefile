# Two commands set everything up on a fresh machine:
#   make demo   builds the sample issue (creates .venv on first use)
#   make test   runs the whole test suite (creates .venv on first use)
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
	@echo "Open build/2026-11-24/email.html in a browser, or build/2026-11-24/email.eml in a mail client."

test: $(BIN)/.installed
	$(BIN)/python -m pytest

bench: $(BIN)/.installed
	for script in bench/*_bench.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) build
