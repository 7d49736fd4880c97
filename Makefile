# ConvLab: every target does its own set-up, so `make test` and `make demo` work on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# apt-get as root, through sudo otherwise
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help venv sysdeps test test-fast demo release bench bench-class bench-grading clean

help:
	@echo "make demo   release + autograde the sample class, then train a ConvNet on the embedded digits"
	@echo "make test   run every test (library, autograder, notebooks)"
	@echo "make bench  the library's benchmarks and a small generated class graded each way (a few minutes)"
	@echo "make bench-class    a class of CLASS_STUDENTS=100 graded each way (about half an hour on 2 cores)"
	@echo "make bench-grading  seconds per notebook of every assignment, ours against stock nbgrader"
	@echo "make lab    JupyterLab on your own copies in mywork/ (loopback, offline); headless: make lab LAB_ARGS=--no-browser"
	@echo "            中文版: make lab EDITION=zh"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(STAMP)

# bubblewrap sandboxes each submission's kernel during grading
sysdeps:
	@command -v bwrap >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq bubblewrap; }
# PostgreSQL: the gradebook test starts its own server on loopback (tests/autograder/test_gradebook_db.py)
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq postgresql; }

# Debian's chromium runs the browser tests (tests/browser): Playwright drives it, and never downloads a browser
.PHONY: browserdeps
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
browserdeps:
	@[ -x /usr/bin/chromium ] || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }
# a CJK font, so the Chinese edition's pages render (and are screenshotted) with real glyphs
# (matplotlib lists the system's fonts once, in its cache: a font installed later needs that list made anew)
	@[ -d /usr/share/fonts/opentype/noto ] && fc-list :lang=zh | grep -q . || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq fonts-noto-cjk && rm -f $${MPLCONFIGDIR:-$$HOME/.cache/matplotlib}/fontlist-*.json; }

test: browserdeps
test: venv sysdeps
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

test-fast: venv
	$(BIN)/python -m pytest -n 2 -q -m "not slow"

demo: venv sysdeps
	$(BIN)/convlab-grade demo
	$(BIN)/python -m convlab.demo

# a few minutes: layers, models and (if installed) PyTorch, then a class of BENCH_STUDENTS submissions
# (correct, partial, broken and hanging) graded by stock nbgrader, ours x1, ours xN and a local Dask cluster
BENCH_STUDENTS ?= 8
bench: venv sysdeps
	@for f in bench/bench_layers.py bench/bench_models.py bench/bench_torch.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done
	@echo "== bench/bench_class.py --students $(BENCH_STUDENTS)"
	$(BIN)/python bench/bench_class.py --students $(BENCH_STUDENTS)

# the whole-class benchmark (issue 14): CLASS_STUDENTS submissions of CLASS_AID graded each way; run it on
# an idle machine (other work on the cores makes the ratios meaningless)
CLASS_STUDENTS ?= 100
CLASS_AID      ?= a1_volumes
bench-class: venv sysdeps
	$(BIN)/python bench/bench_class.py --students $(CLASS_STUDENTS) $(CLASS_AID)

bench-grading: venv sysdeps
	$(BIN)/python bench/bench_grading.py

# Students: JupyterLab on mywork/ (filled from assignments/ by `convlab-grade start`, never overwritten),
# bound to 127.0.0.1, with lab-config/ on the config path: Validate runs `convlab-grade check`, no
# news, update checks or extension manager, nbgrader's instructor panels off.
# EDITION=zh copies the Chinese edition (assignments-zh/, same file names) into mywork/. (Not LANG: make exports
# an overridden environment variable to the commands it runs, and LANG=zh is no locale.)
.PHONY: lab
LAB_ARGS ?=
EDITION ?= en
lab: venv
	$(BIN)/convlab-grade --course $(CURDIR) start --lang $(EDITION)
	JUPYTER_CONFIG_PATH=$(CURDIR)/lab-config$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH} \
	  $(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR)/mywork --ServerApp.ip=127.0.0.1 $(LAB_ARGS)

clean:
	rm -rf $(VENV) out work .pytest_cache .hypothesis
