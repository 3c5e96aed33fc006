# Two commands are all a fresh machine needs:
#   make book   set up (first time) and build the book, executing every notebook
#   make test   set up (first time), lint (ruff), and run the whole test suite, notebooks included
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

# Headless, quiet, reproducible runs. (The test process uses matplotlib's Agg
# backend, set in conftest.py; notebook kernels keep the inline backend.)
export TQDM_DISABLE ?= 1
export SDL_VIDEODRIVER = dummy
export PYTHONHASHSEED = 0
export XDG_RUNTIME_DIR ?= $(CURDIR)/$(VENV)/run

.PHONY: setup book test lab clean
setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[course,test]"
	mkdir -p -m 700 $(VENV)/run
	touch $(STAMP)

book: $(STAMP)
	$(VENV)/bin/jupyter-book build book --warningiserror --keep-going --path-output book
	@echo "Book: book/_build/html/index.html"

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

lab: $(STAMP)
	TQDM_DISABLE= $(VENV)/bin/jupyter lab notebooks

clean:
	rm -rf book/_build .pytest_cache
