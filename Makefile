# The README's two commands: `make run` (set up, then start the main job) and
# `make test` (set up, then run the whole test suite). `.ci/run` calls `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_VIDEO ?= ../shared/data/video/mrpose_air_squat.mp4

.PHONY: setup system-deps run test lint bench

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

# Debian chromium for the real-browser tests (playwright drives it; no browser download).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

run: setup
	$(VENV)/bin/movecoach pose $(DEMO_VIDEO) --json

test: setup system-deps
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

bench: setup
	$(PY) -m benchmarks.kernels
	$(PY) -m benchmarks.pose
