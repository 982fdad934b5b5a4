# The README's two commands: `make run` (set up, then start the main job) and
# `make test` (set up, then run the whole test suite). `.ci/run` calls `make lint`,
# then `make test`.
#
# Both install from constraints.txt, the exact versions the test suite last passed with
# (`make lock` refreshes it; see the README, "Installing").
VENV ?= .venv
PY := $(VENV)/bin/python
CONSTRAINTS := constraints.txt
PIP_INSTALL := $(PY) -m pip install -q -c $(CONSTRAINTS)
DEMO_VIDEO ?= ../shared/data/video/mrpose_air_squat.mp4
SERVE_ARGS ?=
LOCK_VENV ?= .venv-lock
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
APT_INSTALL := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq

.PHONY: setup run-deps system-deps run test lint bench lock

# What running needs from Debian: the libraries that opencv-contrib-python's cv2 (GL,
# GLib, X11/xcb, SM/ICE) and mediapipe (EGL, GLES) load, and the venv module (Debian
# ships `python3 -m venv` in python3-venv). Installed only when something is missing.
RUN_LIBS := libGL.so.1 libglib-2.0.so.0 libgthread-2.0.so.0 libX11.so.6 libXext.so.6 \
	libxcb.so.1 libSM.so.6 libICE.so.6 libEGL.so.1 libGLESv2.so.2
RUN_APT := libgl1 libglib2.0-0 libx11-6 libxext6 libxcb1 libsm6 libice6 libegl1 libgles2

run-deps:
	@missing=""; \
	for lib in $(RUN_LIBS); do \
	  /sbin/ldconfig -p | grep -q "/$$lib$$" || missing="$(RUN_APT)"; \
	done; \
	python3 -c 'import ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && $(APT_INSTALL) $$missing >/dev/null; \
	fi

# Running: the core dependencies only (no dev tools, no Ray).
$(VENV)/.run-installed: pyproject.toml $(CONSTRAINTS) | run-deps
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip
	$(PIP_INSTALL) -e .
	touch $@

# Testing: the dev and distributed extras on top.
$(VENV)/.test-installed: $(VENV)/.run-installed
	$(PIP_INSTALL) -e '.[dev,distributed]'
	touch $@

setup: $(VENV)/.run-installed

# Debian chromium for the real-browser tests (playwright drives it; no browser download),
# a CJK font so Chinese renders in the page screenshots, and NSS's certutil (a kiosk
# trusting the server's certificate, docs/kiosk-setup.md).
system-deps:
	@{ command -v chromium >/dev/null 2>&1 && command -v certutil >/dev/null 2>&1 \
	   && fc-list 2>/dev/null | grep -qi wqy; } || { \
	  $(SUDO) apt-get update -qq && \
	  $(APT_INSTALL) chromium fonts-wqy-microhei libnss3-tools >/dev/null; }

# Starts the server on http://127.0.0.1:8000 (SQLite file, bundled model on ONNX
# Runtime, which sends nothing; built-in templates); with the shared squat clip as the
# demo source when no camera exists. MediaPipe Tasks instead (it sends usage metrics
# to Google): make run SERVE_ARGS="--backend mediapipe".
# More options: make run SERVE_ARGS="--host 0.0.0.0 --ssl-certfile ... --ssl-keyfile ..."
run: $(VENV)/.run-installed
	$(VENV)/bin/movecoach serve $(if $(wildcard $(DEMO_VIDEO)),--demo $(DEMO_VIDEO),) $(SERVE_ARGS)

# Two pytest workers (pytest-xdist), each running whole test files (module fixtures
# such as live servers stay in one process): many tests wait on browsers, sockets and
# real-time clips, so two workers on a 2-core machine take ~60 % of one's time.
# TEST_WORKERS=0 runs in this process.
TEST_WORKERS ?= 2
test: $(VENV)/.test-installed system-deps lint
	$(PY) -m pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

# Refresh constraints.txt: the newest versions pyproject.toml allows, every extra, in a
# throwaway venv; `pip check` must pass. Then run `make test` and commit both files.
lock:
	rm -rf $(LOCK_VENV)
	python3 -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install -q --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install -q -e '.[dev,distributed]'
	$(LOCK_VENV)/bin/python -m pip check
	{ echo "# pip constraints: the versions the test suite passed with. Regenerate"; \
	  echo "# with 'make lock' (pip freeze of a fresh venv with every extra; Linux"; \
	  echo "# x86_64, CPython 3.11). Installed by 'make run', 'make test' and CI."; \
	  $(LOCK_VENV)/bin/python -m pip freeze --all --exclude-editable \
	    | grep -v -e '^setuptools==' -e '^wheel=='; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS)
	rm -rf $(LOCK_VENV)

bench: $(VENV)/.test-installed
	$(PY) -m benchmarks.kernels
	$(PY) -m benchmarks.pose
	$(PY) -m benchmarks.engine
	$(PY) -m benchmarks.dtw
	$(PY) -m benchmarks.repcount --data ../shared/data/repcount-dev
	$(PY) -m benchmarks.repcount_robustness --data ../shared/data/repcount-dev
	$(PY) -m benchmarks.form --data ../shared/data/posetrainer-dev
	$(PY) -m benchmarks.cues --data ../shared/data/cues-sample
	$(PY) -m benchmarks.video --data ../shared/data/video
	for camera in jpeg25 half_res half_fps; do \
		$(PY) -m benchmarks.video --data ../shared/data/video --camera $$camera || exit 1; \
	done
	$(PY) -m benchmarks.e2e
	$(PY) -m benchmarks.scale
