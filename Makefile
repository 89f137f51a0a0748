# hashmatch: every target sets itself up from nothing (a virtualenv in .venv) on Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
BENCH_STAMP := $(VENV)/.bench-installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
VIDEO_STAMP := $(VENV)/.video-installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DATA ?= var
PORT ?= 8000

.PHONY: run test check bench bench-quick lock clean screenshots

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "hashmatch needs Python 3.11, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

## run: the service on the embedded default (SQLite + index files under $(DATA)/), with demo organisations,
## their keys in $(DATA)/demo-keys/ and the sample list published; http://127.0.0.1:$(PORT)/docs
run: $(STAMP)
	HASHMATCH_DATA_DIR=$(DATA) $(BIN)/hashmatch demo tests/fixtures/sample_list.txt
	HASHMATCH_DATA_DIR=$(DATA) $(BIN)/hashmatch serve --port $(PORT)

# the tests also hash videos: the 'video' extra (vpdq) builds against FFmpeg's libraries, which
# scripts/ensure-services installs with the other real parts the tests start (make run needs none of them)
$(VIDEO_STAMP): $(STAMP)
	scripts/ensure-services
	$(BIN)/python -m pip install --quiet -e '.[dev,video]'
	rm -f $(VENV)/.video-installed-*
	touch $(VIDEO_STAMP)

## test: the whole test suite
test: $(VIDEO_STAMP)
	scripts/ensure-services
	$(BIN)/python -m pytest

## screenshots: the console's main pages photographed in headless Chromium into docs/console/ (for the README)
screenshots: $(STAMP)
	scripts/ensure-services
	$(BIN)/python -m tests.screenshots docs/console

## check: lint, format and strict typing
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# the benchmarks also need the peer they compare with and matplotlib: the 'bench' extra, kept out of make test
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	rm -f $(VENV)/.bench-installed-*
	touch $(BENCH_STAMP)

## bench: every part (matcher, lists, http, scanner, scanload, catchup, rematch, startup, quality, console, photodna,
## video) at full size, 30-45 minutes; bench-quick: small sizes
## (about 5 minutes). ONLY=http,scanner runs some parts: make bench-quick ONLY=matcher
bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks $(if $(ONLY),--only $(ONLY))

bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks --quick $(if $(ONLY),--only $(ONLY))

# lock: the container image's dependencies, pinned with their hashes (pip-tools, from PyPI only: a local
# wheel folder or mirror would add hashes of files PyPI does not serve). requirements-build.lock: what
# pdqhash's source build needs (it has no Linux wheel), so that the image hash-checks every file it installs
LOCK_TOOLS := $(VENV)/pip-tools
COMPILE := env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null $(LOCK_TOOLS)/bin/pip-compile --quiet $(if $(UPGRADE),--upgrade) \
	--generate-hashes --allow-unsafe --strip-extras --index-url https://pypi.org/simple --no-emit-index-url

## lock: requirements.lock and requirements-build.lock (the image's pinned dependencies) after a change to
## pyproject.toml; pins kept unless UPGRADE=1 (make lock UPGRADE=1: the newest versions that fit)
lock:
	test -x $(LOCK_TOOLS)/bin/pip-compile || ($(PYTHON) -m venv $(LOCK_TOOLS) \
		&& $(LOCK_TOOLS)/bin/python -m pip install --quiet pip-tools==7.6.2)
	$(COMPILE) --output-file requirements.lock pyproject.toml
	$(COMPILE) --output-file requirements-build.lock requirements-build.in

clean:
	rm -rf $(VENV) $(DATA) .pytest_cache .mypy_cache .ruff_cache .hypothesis
