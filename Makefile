# The two commands of the README: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# An unpinned torch would pull a multi-GB CUDA build: the constraints file pins the CPU build
# that CI uses (users on GPU machines install with their own torch, see README).
PIP_INSTALL := $(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: demo test test-all venv clean-demo

venv: $(VENV)/.installed

# setup.py compiles the optional region-of-interest JPEG decoder (C, against the system libjpeg);
# the last line says whether it was built.
$(VENV)/.installed: pyproject.toml constraints.txt setup.py semipose/data/_jpeg_region.c
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) torch
	$(PIP_INSTALL) -e '.[dev,tb,fast-eval,onnx]'
	$(PY) -m semipose.data.jpeg_region
	touch $@

# The main job on the built-in synthetic people: generate, train, evaluate, table + PNGs.
demo: venv
	$(PY) -m semipose demo --out runs/demo

# The default test suite (well under 10 minutes on 2 cores).
test: venv
	$(PY) -m pytest -q -m "not slow" -n 2

# Everything, including the long end-to-end runs.
test-all: venv
	$(PY) -m pytest -q -n 2

clean-demo:
	rm -rf runs/demo data/synth
