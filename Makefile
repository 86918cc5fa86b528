# The two commands a fresh machine needs: `make demo` and `make test`.
# Both create .venv on first use and install purerl into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Python's bytecode cache, kept inside the venv. Where PYTHONDONTWRITEBYTECODE is set (as on
# this project's machines) and pip installs with --no-compile, every Python process the
# suite starts (its workers, the CLI subprocesses, the notebook kernels) compiled jax, scipy
# and the rest from source again: `import purerl.cli, gymnax` took 9.2 s on one core, 3.9 s
# with this cache warm. The cache lives in .venv (`make clean` removes it); the source tree
# gets no __pycache__ folders.
export PYTHONPYCACHEPREFIX := $(CURDIR)/$(VENV)/pycache
export PYTHONDONTWRITEBYTECODE :=

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-compile -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/purerl train ppo --env CartPole-v1 --seeds 8

# One worker per CPU core, at most 4 (memory); tests of one module share a worker, and
# modules are handed out longest first (tests/conftest.py's order, which xdist's default
# reordering by test count would undo).
test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4 --dist loadscope --no-loadscope-reorder --durations=15

bench: $(STAMP)
	$(BIN)/python bench/ppo.py

lint: $(STAMP)
	$(BIN)/ruff check purerl tests bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
