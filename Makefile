# make venv | demo | test | lint — each works from a fresh clone (demo and test build the venv first).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv compiled demo test lint clean

venv: $(STAMP)

# Reinstalled only when pyproject.toml changes. A venv left half-made (no pip, e.g. created
# without python3-venv) is rebuilt rather than trusted.
$(STAMP): pyproject.toml
	@PYTHON_CANDIDATES="$(PYTHON)" .ci/system-deps >/dev/null
	@$(BIN)/python -m pip --version >/dev/null 2>&1 || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --disable-pip-version-check -q -e '.[dev]'
	@touch $@

# The content engine's hot path compiled with mypyc (ops/compile.py): C extensions beside the
# sources, rebuilt whenever a source under streams/content/ changes. Pure Python runs without them.
COMPILED := $(VENV)/.compiled

compiled: $(COMPILED)

$(COMPILED): $(STAMP) ops/compile.py $(wildcard streams/content/*.py)
	$(BIN)/python ops/compile.py
	@touch $@

demo: compiled
	$(BIN)/qunguard dev

# Two processes (pytest-xdist), a file at a time: each has its own broker and redis-server; the
# suite waits on brokers more than it computes (one process used half a core for 15 min).
test: compiled
	@WITH_TEST_TOOLS=1 PYTHON_CANDIDATES="$(PYTHON)" .ci/system-deps >/dev/null
	$(BIN)/pytest -q -n 2 --dist loadfile --durations=25

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	-$(BIN)/python ops/compile.py --clean
	rm -rf $(VENV) .pytest_cache .ruff_cache
