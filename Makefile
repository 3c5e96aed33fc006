# Two commands are all a fresh machine needs:
#   make book   set up (first time) and build the book, executing every notebook
#   make test   set up (first time), lint (ruff), and run the whole test suite, notebooks included
#
# Options, e.g. `make test TORCH=cpu` (the README's set-up table says which to pick):
#   TORCH=default   torch as the package index serves it (from PyPI: the CUDA build on Linux, ~2.7 GB of wheels)
#   TORCH=cpu       first install torch's CPU build from PyTorch's own CPU wheel index, then the rest
#   WHEELS=DIR      install only from the wheelhouse folder DIR, with no network (--no-index --find-links)
#   COURSE_DEVICE=  where notebooks and tests train: cpu (the default here), cuda, mps, or empty for automatic
# Workshops:
#   make wheelhouse [WHEELHOUSE=wheelhouse] [TORCH=cpu]       every wheel the course needs, for this machine
#   make wheelhouse PLATFORM=windows-amd64 [PYVER=3.11]       ... for another platform (resolved by uv)
#   make doctor                                               check this machine: python -m course_lib.doctor
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed
EXTRAS  = course,test
comma  := ,

TORCH           ?= default
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
WHEELS          ?=
WHEELHOUSE      ?= wheelhouse
PLATFORM        ?=
PYVER           ?= 3.11
# the exact torch pin and the build backend, read from pyproject.toml (each with its quotes)
TORCH_PIN   := $(shell grep -o '"torch==[^"]*"' pyproject.toml)
BUILD_REQ   := $(shell grep -o '"setuptools[^"]*"' pyproject.toml | head -n 1)
# uv, only for wheelhouses of another platform (pyproject.toml's `workshop` extra)
UV_REQ      := $(shell grep -o '"uv[^"]*"' pyproject.toml)

ifeq ($(filter $(TORCH),default cpu),)
$(error TORCH must be default or cpu, got '$(TORCH)')
endif
ifdef WHEELS
# everything, torch included, from the wheelhouse: whichever torch build it holds
PIP_SOURCE  = --no-index --find-links "$(WHEELS)"
TORCH_FIRST =
else
PIP_SOURCE  =
# PyTorch's CPU index *beside* the usual one: torch's own dependencies still come from the usual index,
# and of the two `torch==2.13.0` candidates pip takes 2.13.0+cpu, the higher version (PEP 440 local label)
TORCH_FIRST = $(if $(filter cpu,$(TORCH)),--extra-index-url $(TORCH_CPU_INDEX))
endif

# Headless, quiet, reproducible runs. (The test process uses matplotlib's Agg
# backend, set in conftest.py; notebook kernels keep the inline backend.)
# The notebooks are budgeted for a laptop CPU, so they train there unless asked otherwise.
export TQDM_DISABLE ?= 1
export SDL_VIDEODRIVER = dummy
export PYTHONHASHSEED = 0
export XDG_RUNTIME_DIR ?= $(CURDIR)/$(VENV)/run
export COURSE_DEVICE ?= cpu

.PHONY: setup book test lab doctor wheelhouse clean
setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(PIP_SOURCE) --upgrade pip
	$(if $(TORCH_FIRST),$(PY) -m pip install --quiet $(TORCH_FIRST) $(TORCH_PIN))
	$(PY) -m pip install --quiet $(PIP_SOURCE) -e ".[$(EXTRAS)]"
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

doctor: $(STAMP)
	$(PY) -m course_lib.doctor

# ---- Wheelhouse: every wheel the course needs in one folder, for a USB stick or a file share ----
# pip evaluates dependency markers (platform_system == "Linux", ...) for the machine it runs on,
# so a wheelhouse for another platform is resolved by uv for that platform, then downloaded by pip.
PLATFORMS = linux-x86_64 linux-aarch64 macos-arm64 windows-amd64
PIP_TAGS_linux-x86_64   = manylinux2014_x86_64 $(foreach v,5 12 17 18 19 20 21 22 23 24 25 26 27 28,manylinux_2_$(v)_x86_64)
PIP_TAGS_linux-aarch64  = manylinux2014_aarch64 $(foreach v,17 18 19 20 21 22 23 24 25 26 27 28,manylinux_2_$(v)_aarch64)
PIP_TAGS_macos-arm64    = macosx_14_0_arm64
PIP_TAGS_windows-amd64  = win_amd64
UV_TARGET_linux-x86_64  = x86_64-manylinux_2_28
UV_TARGET_linux-aarch64 = aarch64-manylinux_2_28
UV_TARGET_macos-arm64   = aarch64-apple-darwin
UV_TARGET_windows-amd64 = x86_64-pc-windows-msvc

wheelhouse:
ifeq ($(PLATFORM),)
	$(if $(TORCH_FIRST),$(PYTHON) -m pip download --quiet --only-binary=:all: --dest "$(WHEELHOUSE)" $(TORCH_FIRST) $(TORCH_PIN))
	$(PYTHON) -m pip download --quiet --only-binary=:all: --dest "$(WHEELHOUSE)" --find-links "$(WHEELHOUSE)" pip $(BUILD_REQ) ".[$(EXTRAS)]"
else
ifeq ($(filter $(PLATFORM),$(PLATFORMS)),)
	$(error PLATFORM must be one of $(PLATFORMS) (or empty for this machine), got '$(PLATFORM)')
endif
	$(MAKE) setup
	$(PY) -m pip install --quiet $(UV_REQ)
	mkdir -p "$(WHEELHOUSE)"
	MACOSX_DEPLOYMENT_TARGET=14.0 $(VENV)/bin/uv pip compile --quiet pyproject.toml $(foreach e,$(subst $(comma), ,$(EXTRAS)),--extra $(e)) \
	  --python-version $(PYVER) --python-platform $(UV_TARGET_$(PLATFORM)) --only-binary :all: \
	  $(if $(filter cpu,$(TORCH)),--torch-backend cpu) --output-file "$(WHEELHOUSE)/requirements-$(PLATFORM).txt"
	$(PYTHON) -m pip download --quiet --no-deps --only-binary=:all: --dest "$(WHEELHOUSE)" \
	  $(addprefix --platform ,$(PIP_TAGS_$(PLATFORM))) --python-version $(PYVER) \
	  $(if $(filter cpu,$(TORCH)),--extra-index-url $(TORCH_CPU_INDEX)) \
	  -r "$(WHEELHOUSE)/requirements-$(PLATFORM).txt" pip $(BUILD_REQ)
endif
	@echo "Wheelhouse: $(WHEELHOUSE) ($$(ls "$(WHEELHOUSE)" | grep -c '\.whl$$') wheels). Install with: make setup WHEELS=$(WHEELHOUSE)"

clean:
	rm -rf book/_build .pytest_cache
