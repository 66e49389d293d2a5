# cxlab: `make report` sets up and runs every default study; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.cxlab-installed
OUT    ?= outputs

.PHONY: setup report test lab bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@echo "==> cxlab setup: virtual environment in $(VENV) (about a minute on first run)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "==> upgrading pip"
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "==> installing cxlab and its dependencies (pip prints each package as it goes)"
	$(BIN)/python -m pip install --progress-bar on -e '.[test]'
	@echo "==> registering the Jupyter kernel 'Python (cxlab)'"
	@$(BIN)/python -m ipykernel install --sys-prefix --name cxlab --display-name "Python (cxlab)" >/dev/null
	@touch $(STAMP)
	@echo "==> setup done"

report: setup
	$(BIN)/cxlab run --out $(OUT)

test: setup
	$(BIN)/python -m pytest

# `make lab PORT=9999 IP=0.0.0.0`: IP 0.0.0.0 to reach it from outside a container; --allow-root when run as root.
PORT   ?= 8888
IP     ?= 127.0.0.1
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

lab: setup
	$(BIN)/jupyter lab --notebook-dir=notebooks --no-browser --ip=$(IP) --port=$(PORT) $(ROOT_FLAG)

bench: setup
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(OUT)/* .pytest_cache
