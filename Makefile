# opsdesk. `make run` starts the whole thing with a demo store; `make test` runs the suite.
# Both install what they need first (see `install`).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
# Each recipe runs in one shell, so it can use variables and functions across lines.
.ONESHELL:
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
# The uv that installs the locked dependencies; bump it on purpose, not by accident.
UV_VERSION := 0.13.9
INSTALL_STAMP := $(VENV)/.opsdesk-installed
# Extra arguments for pytest: make test PYTEST_ARGS="tests/test_security.py -x"
PYTEST_ARGS ?=

# uv uses the interpreter of .venv and never downloads one.
export UV_PYTHON_DOWNLOADS := never

.PHONY: help install run test lint

help:
	@echo "make run      start opsdesk on http://127.0.0.1:8000 with a demo store (Ctrl-C stops it)"
	echo "make test     run the test suite against a throwaway PostgreSQL and Redis"
	echo "make lint     ruff check, ruff format --check, and missing migrations"
	echo "make install  create .venv with Python >= 3.12 and the locked dependencies"

# Quick when nothing changed: the stamp holds a hash of uv.lock and pyproject.toml, and a word
# for how they were installed (change it to make every .venv install again).
install:
	@want="$$(cat uv.lock pyproject.toml | sha256sum | cut -d' ' -f1) bytecode"
	venv_ok() {
		[ -x $(PY) ] && $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null
	}
	if venv_ok && [ "$$(cat $(INSTALL_STAMP) 2>/dev/null)" = "$$want" ]; then exit 0; fi
	if ! venv_ok; then
		python=""
		for candidate in python3.14 python3.13 python3.12 python3 \
				$$(ls -d "$${PYENV_ROOT:-$$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do
			# A pyenv shim for a version that is not selected fails here, and is skipped.
			if found="$$("$$candidate" -c 'import sys; assert sys.version_info >= (3, 12); print(sys.executable)' 2>/dev/null)"; then
				python="$$found"
				break
			fi
		done
		if [ -z "$$python" ]; then
			echo "make: opsdesk needs Python 3.12 or newer, and none was found on PATH" >&2
			echo "      (python3.14, python3.13, python3.12, python3) or in pyenv's versions." >&2
			echo "      Install Python 3.12 or newer (your distribution's python3.12 and" >&2
			echo "      python3.12-venv packages, or 'pyenv install 3.12'), then run make again." >&2
			exit 1
		fi
		echo "Creating $(VENV) with $$python"
		"$$python" -m venv --clear $(VENV)
	fi
	if [ "$$($(VENV)/bin/uv --version 2>/dev/null | cut -d' ' -f2)" != "$(UV_VERSION)" ]; then
		$(PY) -m pip --version >/dev/null 2>&1 || $(PY) -m ensurepip --upgrade >/dev/null
		$(PY) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	fi
	# --inexact keeps uv itself (and pip) in the venv. --compile-bytecode writes the packages'
	# .pyc files now: without them (PYTHONDONTWRITEBYTECODE), every process that starts, and
	# every first import inside a request, compiles its modules from source again.
	$(VENV)/bin/uv sync --locked --inexact --compile-bytecode
	echo "$$want" > $(INSTALL_STAMP)

run: install
	@exec bash opsdesk/devserver.sh

test: install
	@PYTHON=$(PY) exec bash tests/services.sh bash tests/suite.sh $(PY) $(PYTEST_ARGS)

lint: install
	@$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run
