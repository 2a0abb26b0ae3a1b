# Benchmarks (issue 6): API calls, wall time and peak memory against moto_server, see benchmarks/README.md.
#   make bench            keyguard.aws on both paths (in-process and module), printed as tables
#   make bench-compare    the same side by side with amazon.aws and the plain-boto3 floor; writes benchmarks/RESULTS.md
#   make bench-latency    the whole-account report under 50 ms latency and IAM's rate limit (issue 14), beside
#                         amazon.aws and the floor; writes benchmarks/RESULTS-latency.md
#   make bench-org        playbooks/audit_organization.yml across a moto Organization at --forks 1, 5, 10 under 50 ms
#                         latency (issue 13), beside a plain boto3 loop over the accounts; writes benchmarks/RESULTS-org.md
# BENCH_ARGS passes options to benchmarks/run.py, e.g. BENCH_ARGS="--repeats 7" or "--only noop-task,noop-loop";
# BENCH_LATENCY_ARGS to benchmarks/latency.py, BENCH_ORG_ARGS to benchmarks/organization.py, e.g. BENCH_LATENCY_ARGS="--sizes 400 --workers 8,16,32,64".
BENCH_VENV := .build/bench-venv
BENCH_STAMP := $(BENCH_VENV)/.installed-stamp
BENCH_ARGS ?=
BENCH_LATENCY_ARGS ?=
BENCH_ORG_ARGS ?=

.PHONY: bench bench-compare bench-latency bench-org bench-venv

# amazon.aws comes with the `ansible` package; ansible-core, boto3 and botocore match .venv exactly.
$(BENCH_STAMP): benchmarks/requirements-compare.txt $(STAMP)
	rm -rf $(BENCH_VENV)
	$(BIN)/python -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip freeze --disable-pip-version-check | grep -E '^[A-Za-z0-9_.-]+==' > $(BENCH_VENV)/constraints.txt
	$(BENCH_VENV)/bin/python -m pip install --quiet -r benchmarks/requirements-compare.txt -c $(BENCH_VENV)/constraints.txt
	touch $@

bench-venv: $(BENCH_STAMP)

bench: venv
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

bench-compare: venv $(BENCH_STAMP)
	$(BIN)/python benchmarks/run.py --compare --ansible-venv $(BENCH_VENV) --write-results benchmarks/RESULTS.md $(BENCH_ARGS)

bench-latency: venv $(BENCH_STAMP)
	$(BIN)/python benchmarks/latency.py --ansible-venv $(BENCH_VENV) --write-results benchmarks/RESULTS-latency.md $(BENCH_LATENCY_ARGS)

# Only keyguard.aws and boto3 run here, so .venv is enough.
bench-org: venv
	$(BIN)/python benchmarks/organization.py --ansible-venv $(VENV) --write-results benchmarks/RESULTS-org.md $(BENCH_ORG_ARGS)
