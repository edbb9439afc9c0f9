# CrossID Desktop: the two commands of the README.
#   make demo   set up .venv (once) and start the application on its demo
#   make test   set up .venv (once) and run the whole test suite
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test setup benchmarks clean-venv

setup: $(STAMP)

# Reinstalls only when the package metadata changes.
$(STAMP): pyproject.toml setup.py packaging/constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c packaging/constraints.txt -e ".[test]"
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/crossid-desktop --demo

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

benchmarks: $(STAMP)
	@for f in tests/benchmarks/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean-venv:
	rm -rf $(VENV)
