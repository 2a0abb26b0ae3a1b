# Ecosystem targets (issue 7): docs site, changelog, ansible-lint, execution environment, compatibility.
#   make docs            HTML docs site (antsibull-docs + Sphinx) into docs/build/html
#   make lint-docs       antsibull-docs lint-collection-docs --plugin-docs (module docs, semantic markup, links)
#   make lint-changelog  antsibull-changelog lint (fragments and changelogs/changelog.yaml)
#   make lint-ansible    ansible-lint, production profile, offline: playbooks/, galaxy.yml, meta/, module EXAMPLES
#   make lint-ecosystem  the three lints above
#   make changelog       fold changelogs/fragments into the release of galaxy.yml's version; writes CHANGELOG.md
#   make ee-context      execution environment build context (ansible-builder create) in .build/ee
#   make compat          every unit and integration test on ansible-core 2.17 (python3.11) and the newest
#                        ansible-core python3.12 gets, in venvs under .build/compat (tools/compat.sh;
#                        COMPAT_ARGS="2.17" for one target)
#   make compat-core     the same with the unit tests and the core integration suites (COMPAT_CORE_TESTS): part
#                        of make test, which has no time for every suite three times
#   make compat-venvs    only create or upgrade those venvs (make test does it while .venv is built)
# The tools come from requirements-docs.txt, installed into .venv with requirements-dev.txt (see the Makefile).
COMPAT_ARGS ?=
COLLECTION_VERSION = $(shell sed -nE 's/^version:[[:space:]]*([^[:space:]#]+).*/\1/p' galaxy.yml)

.PHONY: docs-tools docs lint-docs lint-changelog lint-ansible lint-ecosystem changelog ee-context compat compat-venvs \
	compat-core

docs-tools: venv

docs: docs-tools
	$(BIN)/python tools/build_docs.py

lint-docs: docs-tools
	$(BIN)/antsibull-docs lint-collection-docs --plugin-docs --check-extra-docs-refs .

lint-changelog: docs-tools
	$(BIN)/antsibull-changelog lint

lint-ansible: docs-tools
	$(BIN)/python tools/lint_ansible.py

lint-ecosystem: lint-ansible lint-docs lint-changelog

changelog: lint-changelog
	$(BIN)/antsibull-changelog release --version $(COLLECTION_VERSION)

ee-context: docs-tools
	$(BIN)/python tools/ee_context.py

# What depends most on ansible-core: both execution paths (test_execution_path, test_secrets), the access-key
# lifecycle, the info module, argument validation messages (test_bad_input), and building, installing and
# documenting the collection (test_packaging). Left to make compat, for time: the shipped playbooks, rotation
# schedules, faults, concurrency and the info module's scale tests.
COMPAT_CORE_TESTS := tests/unit tests/integration/test_iam_access_key.py tests/integration/test_execution_path.py \
	tests/integration/test_secrets.py tests/integration/test_iam_access_key_info.py tests/integration/test_bad_input.py \
	tests/integration/test_packaging.py -k "not test_large_account and not test_throttled_whole_account"

compat:
	tools/compat.sh $(COMPAT_ARGS)

# compat-venvs creates or upgrades the compat venvs only; make test runs it beside the .venv build and then compat-core
# with COMPAT_INSTALL=--no-install, which uses those venvs as they are.
COMPAT_INSTALL ?=
compat-venvs:
	tools/compat.sh --prepare $(COMPAT_ARGS)

# compat and compat-core run the 2.17 target with every local task as a module process (the oldest core, where the
# module path differs most), the newest in-process; .venv's 2.19 runs both paths through the suites that test both.
export COMPAT_MODULE_PATH_TARGETS ?= 2.17
compat-core:
	tools/compat.sh $(COMPAT_INSTALL) $(COMPAT_ARGS) -- $(PYTEST_XDIST) $(COMPAT_CORE_TESTS)
