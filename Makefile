# Two commands on a fresh machine: `make train` and `make test` (both install first if needed).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# torch is chosen deliberately: the CPU 2.13.0 wheel on these machines. With a GPU, override, e.g.
#   make install TORCH_SPEC="torch==2.13.0" TORCH_INDEX=https://download.pytorch.org/whl/cu128
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
STAMP := $(VENV)/.installed

.PHONY: install train test lint prepare tensorboard bench sample clean-cache

install: $(STAMP)

# Re-install when pyproject.toml or this Makefile is newer than the last install.
$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

train: install
	$(PY) -m src.train $(ARGS)

test: install
	$(PY) -m pytest -q $(ARGS)

lint: install
	$(VENV)/bin/ruff check src tests

prepare: install
	$(PY) -m src.data.prepare $(ARGS)

tensorboard: install
	$(VENV)/bin/tensorboard --logdir outputs

clean-cache:
	rm -rf data/processed

sample: install
	$(PY) -m src.sample ckpt=$(CKPT) $(ARGS)
