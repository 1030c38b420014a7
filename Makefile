# Two commands on a fresh machine: `make train` and `make test` (both install first if needed).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# torch is chosen deliberately: the CPU 2.13.0 wheel on these machines. With a GPU, override, e.g.
#   make install TORCH_SPEC="torch==2.13.0" TORCH_INDEX=https://download.pytorch.org/whl/cu128
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
STAMP := $(VENV)/.installed

.PHONY: install train test lint prepare tensorboard bench sample clean-cache app browser abcmidi notebook models

install: $(STAMP)

# Re-install when pyproject.toml or this Makefile is newer than the last install.
$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The experiment with the best held-out bits in about 10 minutes on a 2-core CPU (docs/benchmarks.md).
EXPERIMENT ?= transformer_lm

train: install
	$(PY) -m src.train experiment=$(EXPERIMENT) $(ARGS)

# Speed, memory and time to quality side by side; `make bench ARGS=quick=true` for a 3-minute version.
bench: install
	$(PY) -m src.bench $(ARGS)

test: install browser abcmidi
	$(PY) -m pytest -q $(ARGS)

lint: install
	$(VENV)/bin/ruff check src tests tools

prepare: install
	$(PY) -m src.data.prepare $(ARGS)

tensorboard: install
	$(VENV)/bin/tensorboard --logdir outputs

clean-cache:
	rm -rf data/processed

sample: install
	$(PY) -m src.sample ckpt=$(CKPT) $(ARGS)

# The bundled models (models/NAME.ckpt, float16, < 4 MB each, tracked in git; models/README.md): instant when
# they are there; rebuilds a missing one (or all, ARGS=retrain=true) by training its experiment, exporting
# and scoring it (about 10 CPU minutes each, 50 for lstm_attn_lm_essen).
models: install
	$(PY) -m src.bundle $(ARGS)

# The web app on http://localhost:8501 (settings in .streamlit/config.toml; the same flags again here and in
# tools/app_server.py, which tests/test_app.py checks).
APP_FLAGS := --browser.gatherUsageStats false --server.headless true --server.address 127.0.0.1 \
	--server.fileWatcherType none --client.toolbarMode viewer --global.developmentMode false
# ARGS go to streamlit (e.g. ARGS=--server.port=8600); the bundled models are checked first, without them.
app: install
	$(PY) -m src.bundle
	$(VENV)/bin/streamlit run src/app/main.py $(APP_FLAGS) $(ARGS)

# Debian's Chromium for the browser test of the app (tests/test_app_browser.py); never a browser download.
# Without root (or sudo) or apt-get it says so and the test is skipped with that reason.
CHROMIUM := /usr/bin/chromium
browser:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif ! command -v apt-get >/dev/null; then echo "browser: no apt-get: the Chromium test will be skipped"; \
	elif [ "$$(id -u)" = 0 ]; then (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends chromium fonts-dejavu-core >/dev/null) || echo "browser: apt-get failed"; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then (sudo apt-get update -qq && \
		sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium \
		fonts-dejavu-core >/dev/null) || echo "browser: apt-get failed"; \
	else echo "browser: $(CHROMIUM) is missing and installing it needs root: the Chromium test will be skipped"; fi

# Debian's abcmidi: abc2midi reads the ABC the project writes back in tests/test_abc_notation.py, a second
# reader beside music21. Without root (or sudo) or apt-get it says so and those tests are skipped.
ABC2MIDI := /usr/bin/abc2midi
abcmidi:
	@if [ -x $(ABC2MIDI) ]; then :; \
	elif ! command -v apt-get >/dev/null; then echo "abcmidi: no apt-get: the abc2midi tests will be skipped"; \
	elif [ "$$(id -u)" = 0 ]; then (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends abcmidi >/dev/null) || echo "abcmidi: apt-get failed"; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then (sudo apt-get update -qq && \
		sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends abcmidi \
		>/dev/null) || echo "abcmidi: apt-get failed"; \
	else echo "abcmidi: $(ABC2MIDI) is missing and installing it needs root: the abc2midi tests will be skipped"; fi

# Run notebooks/explore.ipynb top to bottom; the executed copy goes to outputs/notebooks/.
notebook: install
	$(PY) -m src.app.notebook notebooks/explore.ipynb outputs/notebooks/explore.ipynb
