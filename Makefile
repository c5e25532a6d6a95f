# Quick start: `make run` and `make test`. Both set up .venv on first use.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: setup run test bench clean

setup: $(STAMP)

# Re-runs only when pyproject.toml changes. torch is installed first, pinned to the CPU build that
# this machine carries; with it present, the project's torch range installs nothing more.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11'"; exit 2; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

# With a display: the editor on the demo graph. Without one: the demo rendered headless to a file.
run: $(STAMP)
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
		$(VENV)/bin/reenact edit graphs/demo.json; \
	else \
		echo "no display: rendering the demo headless (the editor needs one; try xvfb-run or a desktop)"; \
		$(VENV)/bin/reenact run graphs/demo.json --quiet && echo "rendered renders/demo.mp4"; \
	fi

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(VENV)/bin/reenact bench graphs/demo.json --json renders/bench.json

clean:
	rm -rf $(VENV) renders
