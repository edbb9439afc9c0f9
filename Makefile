# CrossID Desktop: the two commands of the README.
#   make demo   set up .venv (once) and start the application on its demo
#   make test   set up .venv (once) and run the whole test suite
# and, for a release:
#   make package  the self-contained application folder dist/CrossID-Desktop/ (PyInstaller),
#                 smoke-tested in a clean environment, and its tarball (Linux); not part of test
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

VERSION = $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' crossid_desktop/__init__.py)
BUNDLE  := dist/CrossID-Desktop
# zstd packs the 4-5 GB folder with a tenth of gzip's CPU time (and smaller); gzip where it is missing
ZSTD    := $(shell command -v zstd)
TARBALL := dist/CrossID-Desktop-$(VERSION)-linux-$(shell uname -m).tar.$(if $(ZSTD),zst,gz)

.PHONY: demo test setup benchmarks clean-venv package

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

# PyInstaller comes from the `package` extra; the icons and the resource manifest must be current.
package: $(STAMP)
	@$(BIN)/python -c "import PyInstaller" 2>/dev/null || $(BIN)/python -m pip install --quiet -c packaging/constraints.txt -e ".[package]"
	QT_QPA_PLATFORM=offscreen $(BIN)/python packaging/make_icons.py --check
	$(BIN)/python packaging/write_manifest.py --check
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller packaging/crossid-desktop.spec
	packaging/smoke_test.sh $(BUNDLE) dist/selftest-record
	@if [ "$$(uname)" = Linux ]; then tar -C dist -I "$(if $(ZSTD),zstd -T0 -3 -q,gzip)" -cf $(TARBALL) CrossID-Desktop && ls -l $(TARBALL); fi

clean-venv:
	rm -rf $(VENV)
