# `make run` serves FHIR R4 at http://127.0.0.1:8080/fhir with demo data; `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMO := data/demo

.PHONY: install run test test-es bench screenshots clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

# The demo hospital: transaction Bundles, and the KCD names of the codes it uses (KCD itself is not shipped).
$(DEMO)/.made: population/hospital.py population/fhir.py population/__main__.py | $(VENV)/.installed
	rm -rf $(DEMO)
	$(BIN)/python -m population --patients 200 --seed 7 --formats bundles,kcd --out $(DEMO)
	touch $@

run: install $(DEMO)/.made
	$(BIN)/fhir-server init-db
	$(BIN)/fhir-server load-terminology kcd $(DEMO)/kcd/kcd.csv
	$(BIN)/fhir-server load $(DEMO)/bundles
	$(BIN)/fhir-server serve

test: $(VENV)/.installed-test
	scripts/ensure-postgresql.sh
	scripts/ensure-chromium.sh
	$(BIN)/lint-imports
	$(BIN)/pytest -n 2 -q

# The Elasticsearch backend's tests against a real cluster, e.g. FHIR_SERVER_ELASTICSEARCH_URL=http://127.0.0.1:9200
test-es: $(VENV)/.installed-test
	@test -n "$(FHIR_SERVER_ELASTICSEARCH_URL)" || { echo "set FHIR_SERVER_ELASTICSEARCH_URL to a cluster"; exit 2; }
	$(BIN)/pytest -q -k "elasticsearch and not postgresql" tests/search

# The README's pictures of the web pages, from a 1,000-patient synthetic hospital.
screenshots: $(VENV)/.installed-test
	scripts/ensure-chromium.sh
	$(BIN)/python scripts/screenshots.py docs/screenshots

bench: install
	$(BIN)/python bench/rest_core.py

clean:
	rm -rf $(VENV) data .pytest_cache
