# The two commands of the README: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
JD := $(BIN)/journeydsl
OUT := out

.PHONY: demo test bench lint install install-test browser postgresql flink editor compiled wheel clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# The runtime's hot path compiled by mypyc (docs/decisions.md, "A compiled runtime"): a wheel built with the
# pyproject's mypyc hook from a copy of the sources (the hook leaves its products next to the files it compiles),
# unpacked into $(COMPILED). PYTHONPATH=$(COMPILED) puts it in front of the editable, plain-Python install.
COMPILED := build/compiled
# The platform wheel users install (issue 18): the same wheel, retagged manylinux by auditwheel (the compiled
# modules link only libc), kept in $(DIST) for a release to upload. tests/test_packaging.py checks it.
DIST := dist
COMPILED_SOURCES := pyproject.toml README.md $(shell find src grammar templates/docs -type f -not -path '*/__pycache__/*')

$(COMPILED)/.built: $(VENV)/.installed $(COMPILED_SOURCES)
	@command -v cc >/dev/null 2>&1 || { \
	  echo "installing Debian's gcc for the compiled runtime"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq gcc >/dev/null; }
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  cp -r pyproject.toml README.md src grammar "$$tmp"/ && mkdir -p "$$tmp/templates" && cp -r templates/docs "$$tmp/templates/" && \
	  echo "compiling the runtime with mypyc (about a minute)" && \
	  HATCH_BUILD_HOOKS_ENABLE=1 $(BIN)/python -m pip wheel --quiet --no-deps -w "$$tmp/wheels" "$$tmp" && \
	  rm -rf $(DIST) && PATH="$(abspath $(VENV))/bin:$$PATH" $(BIN)/auditwheel repair -w $(DIST) "$$tmp"/wheels/journeydsl-*.whl >/dev/null && \
	  rm -rf $(COMPILED) && $(BIN)/python -m pip install --quiet --no-deps --target $(COMPILED) $(DIST)/journeydsl-*.whl
	touch $@

compiled: $(COMPILED)/.built

wheel: compiled

# The docs-site test runs in headless Chromium (Debian's package).
browser:
	@{ command -v chromium && command -v chromedriver; } >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium and chromium-driver for the browser test"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; }

# The PostgreSQL store's tests start a throwaway server (tests/pg_server.py) with Debian's initdb and pg_ctl,
# which live in /usr/lib/postgresql/<major>/bin/, not on PATH. The package's own cluster is not used.
postgresql:
	@{ ls /usr/lib/postgresql/*/bin/initdb && ls /usr/lib/postgresql/*/bin/pg_ctl; } >/dev/null 2>&1 || { \
	  echo "installing Debian's postgresql for the store tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; }

# The Flink engine's tests (issue 16) run PyFlink in thread mode on a mini-cluster: Debian's Java 17 and the
# `flink` extra (apache-flink, with the Flink jars inside the wheel). Nothing downloads at run time.
flink: install
	@command -v java >/dev/null 2>&1 || { \
	  echo "installing Debian's openjdk-17-jre-headless for the Flink tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }
	@$(BIN)/python -c "import pyflink" 2>/dev/null || { \
	  echo "installing the flink extra (apache-flink)"; $(BIN)/python -m pip install --quiet -e '.[test,flink]'; }

# The VS Code extension (editors/vscode): its own npm tooling, built and packaged into a .vsix (Node.js 20+).
editor:
	cd editors/vscode && npm ci --no-audit --no-fund --loglevel=error && npx tsc -p . && \
	  npx @vscode/vsce package --skip-license --allow-missing-repository -o journeydsl.vsix

# With a C compiler on the machine the demo runs the compiled runtime (issue 18: the fast build by default);
# `journeydsl --version` says which build runs.
HAVE_CC := $(shell command -v cc 2>/dev/null)
demo: export PYTHONPATH := $(if $(HAVE_CC),$(abspath $(COMPILED)))
demo: install $(if $(HAVE_CC),compiled)
	$(JD) --version
	$(JD) check journeys/
	$(JD) render journeys/ -o $(OUT)/diagrams --format svg
	$(JD) render journeys/ -o $(OUT)/diagrams --format png
	$(JD) docs journeys/ -o $(OUT)/site
	# the project's own documentation (docs/: tutorial, language reference, runtime, CLI, operations) as a site
	$(BIN)/python -m journeydsl.docs.guide_site docs $(OUT)/guide
	$(JD) build journeys/ -o $(OUT)/journeys.jbundle
	$(JD) synth journeys/ --customers 300 --seed 7 -o $(OUT)/events.jsonl
	# contact pressure before launch: every journey together on those events, messages per customer per day and week
	$(JD) pressure journeys/ --events $(OUT)/events.jsonl
	rm -f $(OUT)/state.db*
	# --max-skew 30d: the synthetic stream of 300 customers thins out towards its end, with days between events;
	# a live stream would keep the default of 1d (an event more than a day ahead of the others is a dead letter).
	$(JD) run $(OUT)/journeys.jbundle --events $(OUT)/events.jsonl --store sqlite:///$(OUT)/state.db \
	  --max-skew 30d --dead-letter $(OUT)/dead-letter.jsonl --summary > $(OUT)/actions.jsonl
	# what is in flight once the events are in, and what deploying the bundle again would do to it
	$(JD) status --store sqlite:///$(OUT)/state.db
	$(JD) plan $(OUT)/journeys.jbundle --store sqlite:///$(OUT)/state.db
	# then the clock runs on to the end of the year: every pending timer fires
	$(JD) run $(OUT)/journeys.jbundle --events /dev/null --store sqlite:///$(OUT)/state.db \
	  --until 2026-12-31T00:00:00Z >> $(OUT)/actions.jsonl
	$(JD) render journeys/ -o $(OUT)/overlay --format svg --overlay sqlite:///$(OUT)/state.db
	$(JD) report --store sqlite:///$(OUT)/state.db
	# the same bundle as a service: `journeydsl serve` on SQLite, a few events posted over HTTP, the records it
	# delivered to a JSONL sink; then SIGTERM (docs/operations.md)
	$(BIN)/python -m journeydsl.service.demo $(OUT)/journeys.jbundle $(OUT)/events.jsonl $(OUT)/serve

test: install browser postgresql flink editor compiled
	JOURNEYDSL_EXPECT_WHEEL=1 $(BIN)/python -m pytest
	JOURNEYDSL_EXPECT_COMPILED=1 PYTHONPATH=$(COMPILED) $(BIN)/python -m pytest tests/runtime
	$(JD) test journeys/ --min-coverage 100

bench: install compiled postgresql flink
	$(BIN)/python -m pip install --quiet -e '.[test,bench]' || echo "bench extras did not all install; those baselines are skipped"
	PYTHONPATH=$(COMPILED) $(BIN)/python -m bench

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(OUT) build $(DIST) site .pytest_cache .hypothesis
