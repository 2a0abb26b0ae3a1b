# keyguard.aws — developer entry points. `make demo` and `make test` are all a new machine needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Plain ansible-playbook runs find the collection through this folder (a symlink is enough there).
COLLECTIONS_ROOT := .build/collections
COLLECTION_LINK := $(COLLECTIONS_ROOT)/ansible_collections/keyguard/aws

export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/$(COLLECTIONS_ROOT)
export PATH := $(CURDIR)/$(BIN):$(PATH)
# Branch coverage of plugins/ is collected from the unit tests and from every ansible-playbook
# process (and forked worker) the integration tests start; `make coverage` combines and checks it.
COVERAGE_DIR := $(CURDIR)/.build/coverage
export COVERAGE_RCFILE := $(CURDIR)/.coveragerc
export COVERAGE_FILE := $(COVERAGE_DIR)/.coverage
COVERAGE := $(BIN)/python -m coverage

.PHONY: venv demo test lint format sanity units integration integration-module-path coverage coverage-clean build clean

$(STAMP): requirements.txt requirements-test.txt requirements-dev.txt requirements-docs.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -r requirements-docs.txt
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn $(CURDIR) $@

venv: $(STAMP) $(COLLECTION_LINK)

demo: venv
	$(BIN)/python tools/demo.py

# compat-core (mk/ecosystem.mk): the unit tests and the core integration suites on ansible-core 2.17 and on the
# newest release python3.12 gets; this venv's 2.19 runs everything.
# `make test` runs in stages; the steps of a stage do not depend on each other and run side by side (TEST_JOBS, one a
# core; -Otarget prints each step's output in one piece when it ends):
#   1. .venv, beside the compat venvs (compat-venvs, mk/ecosystem.mk): pip, about one core each
#   2. ansible-test sanity, beside the unit tests and then the lints: one process each (the longest first)
#   3. the integration tests (as many pytest-xdist workers as cores), 4. coverage, 5. compat-core in the venvs of 1
#      (on ansible-core 2.17 with every task as a module process, on the newest core in-process).
TEST_JOBS ?= 2
SUBMAKE := $(MAKE) --no-print-directory
test:
	$(SUBMAKE) -j$(TEST_JOBS) -Otarget venv compat-venvs
	$(SUBMAKE) coverage-clean
	$(SUBMAKE) -j$(TEST_JOBS) -Otarget sanity units lint lint-ecosystem
	$(SUBMAKE) integration
	$(SUBMAKE) coverage
	$(SUBMAKE) compat-core COMPAT_INSTALL=--no-install

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python tools/code_lines.py --limit 350

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

sanity: venv
	tools/ansible-test.sh sanity

units: venv
	mkdir -p $(COVERAGE_DIR)
	$(COVERAGE) run -m pytest tests/unit

# The whole suite runs local tasks in-process (the default). test_bad_input, test_faults, test_concurrency,
# test_execution_path and test_secrets cover both paths themselves; compat-core runs its suites with every task as a
# separate module process, the way remote hosts run them, on ansible-core 2.17 (COMPAT_MODULE_PATH_TARGETS), and
# integration-module-path runs the main module suites so on this venv's ansible-core. All suites pass on the module
# path; CI time is limited.
MODULE_PATH_SUITES := tests/integration/test_iam_access_key.py tests/integration/test_execution_path.py
# pytest-xdist workers (each starts its own moto server); the tests are independent of each other. loadgroup keeps
# the tests of an xdist_group (test_bad_input.py, which runs its playbooks once in a module fixture) on one worker.
PYTEST_WORKERS ?= auto
PYTEST_XDIST := -n $(PYTEST_WORKERS) --dist loadgroup

# The processes the integration tests start measure coverage from their first import of our plugins, not from their
# start (tests/tools/coverage_on_import/sitecustomize.py): ansible-core's own start-up then runs untraced.
COVERAGE_ON_IMPORT := KEYGUARD_COVERAGE_START=$(COVERAGE_RCFILE) PYTHONPATH=$(CURDIR)/tests/tools/coverage_on_import

integration: venv
	mkdir -p $(COVERAGE_DIR)
	$(COVERAGE_ON_IMPORT) $(BIN)/python -m pytest $(PYTEST_XDIST) tests/integration

integration-module-path: venv
	KEYGUARD_TEST_EXECUTION=module $(BIN)/python -m pytest $(PYTEST_XDIST) $(MODULE_PATH_SUITES)

coverage: venv
	$(COVERAGE) combine --quiet --keep
	$(COVERAGE) report

coverage-clean:
	rm -rf $(COVERAGE_DIR)

build: venv
	$(BIN)/ansible-galaxy collection build --force --output-path .build/dist

clean:
	rm -rf .build .pytest_cache .ruff_cache .coverage htmlcov tests/output

# Further targets (docs, compatibility, benchmarks) live in mk/*.mk.
-include $(wildcard mk/*.mk)
