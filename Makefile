# Developer entry points. `make demo` and `make test` are the README's two commands.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
LAB    := $(VENV)/bin/lab

.PHONY: install sandbox-binaries demo test test-unit lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed

sandbox-binaries:
	bash grader/sandbox/install-k8s.sh
	bash grader/sandbox/install-prometheus.sh

# Install, start the sandbox, and run the canary lab: start -> grade -> solve -> grade.
demo: install sandbox-binaries
	$(LAB) sandbox up
	$(LAB) start canary
	-$(LAB) grade canary
	$(LAB) solve canary
	$(LAB) grade canary

test: install sandbox-binaries
	LAB_REQUIRE_SANDBOX=1 $(PY) -m pytest -q

test-unit: install
	$(PY) -m pytest -q tests/unit

lint: install
	$(PY) -m ruff check grader tests benchmarks
	$(VENV)/bin/vermin -q grader tests benchmarks

# run.py: the grader (sandbox, lifecycle, requests per grade, scale); traffic.py: the data plane
# (requests/s, p50/p99 gateway vs direct, memory) and grading with traffic, each on a sandbox of its own.
bench: install sandbox-binaries
	$(PY) benchmarks/run.py
	$(PY) benchmarks/traffic.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
