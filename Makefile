# The README's two commands: `make run` (set up, then start the main job) and
# `make test` (set up, then run the whole test suite). `.ci/run` calls `make lint`,
# then `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_VIDEO ?= ../shared/data/video/mrpose_air_squat.mp4

.PHONY: setup system-deps run test lint bench

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,distributed]'
	touch $@

setup: $(VENV)/.installed

# Debian chromium for the real-browser tests (playwright drives it; no browser download)
# and a CJK font so Chinese renders in the page screenshots.
system-deps:
	@{ command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi wqy; } || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; }

# Starts the server on http://127.0.0.1:8000 (SQLite file, bundled model, built-in
# templates); with the shared squat clip as the demo source when no camera exists.
run: setup
	$(VENV)/bin/movecoach serve $(if $(wildcard $(DEMO_VIDEO)),--demo $(DEMO_VIDEO),)

test: setup system-deps
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

bench: setup
	$(PY) -m benchmarks.kernels
	$(PY) -m benchmarks.pose
	$(PY) -m benchmarks.dtw
	$(PY) -m benchmarks.repcount --data ../shared/data/repcount-dev
	$(PY) -m benchmarks.e2e
	$(PY) -m benchmarks.scale
