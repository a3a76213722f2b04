# Two commands set everything up on a fresh machine:
#   make demo   builds the sample issue and sends it to a local outbox, all under build/demo/ (creates .venv on first use)
#   make test   lints (ruff), type-checks (mypy) and runs the whole test suite (creates .venv on first use)
# and, while working, make test-fast runs the tests marked neither slow, browser nor postgres (about a minute).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLE := issues/2026-11-24.yaml

.PHONY: demo test test-fast bench clean lock

# constraints.txt pins every package to the versions the suite last passed with (see its header);
# [all] brings every optional part, which the suite tests.
$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[all,test]'
	touch $@

# Re-pin to the newest releases pyproject.toml allows, in a scratch environment; then run make test.
LOCK_VENV := build/lock-venv
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install --quiet -e '.[all,test]'
	{ grep '^#' constraints.txt; $(LOCK_VENV)/bin/python -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf $(LOCK_VENV)

# The demo runs in a scratch workspace of its own, build/demo/, made from copies of the sample
# files: whatever provider, outbox or database the repository's newsletter.toml names, the demo
# sends only to build/demo/outbox/ and keeps its subscribers in build/demo/subscribers.db.
DEMO := build/demo
NEWSLETTER := $(abspath $(BIN))/newsletter

# scripts/demo_workspace.py copies newsletter.toml into the demo workspace with [send] provider = "outbox",
# outbox = "outbox" and [subscribers] database = "subscribers.db" forced, checking the copy reads back that way.

demo: $(BIN)/.installed
	mkdir -p $(DEMO)/issues
	$(BIN)/python scripts/demo_workspace.py newsletter.toml $(DEMO)/newsletter.toml
	cp $(SAMPLE) $(DEMO)/issues/
	cp sample-subscribers.csv $(DEMO)/
	cd $(DEMO) && $(NEWSLETTER) build $(SAMPLE)
	cd $(DEMO) && $(NEWSLETTER) subscribers import sample-subscribers.csv
	cd $(DEMO) && $(NEWSLETTER) send --provider outbox $(SAMPLE)
	@echo
	@echo "Built: open $(DEMO)/build/2026-11-24/email.html in a browser, or $(DEMO)/build/2026-11-24/email.eml in a mail client."
	@echo "Sent to the local outbox: $(DEMO)/outbox/ is a Maildir, one message per subscriber in $(DEMO)/outbox/new/"
	@echo "(open one with any mail client, e.g. rename it to .eml, or run: mutt -f $(DEMO)/outbox)."

# -n 2: two pytest processes (pytest-xdist), one per core of the 2-core machines the suite is sized
# for; each starts its own PostgreSQL, Redis and Chromium when its tests need them. Only here:
# a single test or area (`.venv/bin/python -m pytest tests/render`) still runs in one process.
# PYTHONDONTWRITEBYTECODE= : where the machine sets it (CI images often do), every pytest process would
# rewrite the tests' asserts afresh (7 s of 10 s collecting) and every `newsletter` a test starts
# would compile the package again; the suite keeps its bytecode in __pycache__/ (git ignores it).
test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n 2

# The quick subset while working: no lint, no type-check, none of the tests marked slow, browser or
# postgres (see [tool.pytest.ini_options] markers). `make test` is still the one that counts.
test-fast: $(BIN)/.installed
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n 2 -m "not slow and not browser and not postgres"

bench: $(BIN)/.installed
	for script in bench/*_bench.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) build outbox subscribers.db
