# `make run` serves FHIR R4 at http://127.0.0.1:8080/fhir with demo data; `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMO := data/demo

.PHONY: install run test bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

$(DEMO): population/hospital.py population/fhir.py | $(VENV)/.installed
	$(BIN)/python -m population --patients 20 --seed 7 --formats bundles --out $(DEMO)

run: install $(DEMO)
	$(BIN)/fhir-server init-db
	$(BIN)/fhir-server load $(DEMO)
	$(BIN)/fhir-server serve

test: $(VENV)/.installed-test
	scripts/ensure-postgresql.sh
	$(BIN)/lint-imports
	$(BIN)/pytest -n 2 -q

bench: install
	$(BIN)/python bench/rest_core.py

clean:
	rm -rf $(VENV) data .pytest_cache
