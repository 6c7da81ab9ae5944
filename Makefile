# gankit: `make demo` trains the default recipe; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
GANKIT := $(VENV)/bin/gankit
DEMO_MINUTES ?= 5
DEMO_OUT ?= runs/demo

.PHONY: demo test install data benchmarks clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=23"
	$(PY) -m pip install -q -e ".[test]"
	touch $@

data: install
	$(GANKIT) data fetch fashion-mnist

demo: install data
	$(GANKIT) train configs/default_fashion_mnist.yaml --set train.max_minutes=$(DEMO_MINUTES) --out $(DEMO_OUT)
	$(GANKIT) eval $(DEMO_OUT) --n 10000

# The suite uses data it makes; tests on the real Fashion-MNIST skip when it cannot be fetched.
test: install
	-$(GANKIT) data fetch fashion-mnist >/dev/null 2>&1
	$(PY) -m pytest

benchmarks: install data
	$(PY) benchmarks/throughput.py

clean:
	rm -rf $(VENV) runs .pytest_cache
