# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The arithmetic behind benchmarks/RESULTS.md's ratio targets (benchmarks/report.py): no timing here."""

from __future__ import annotations

import collections
import importlib
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS_DIR = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def report() -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS_DIR))  # the benchmark scripts import each other as top-level modules
    try:
        return importlib.import_module("report")
    finally:
        sys.path.remove(str(BENCHMARKS_DIR))


def build_result(report: ModuleType, walls: dict[str, list[float | None]], items: int = 1, copies: bool = False):
    """A ScenarioResult whose variant ``key`` measured ``walls[key][round]`` (None: failed that round)."""
    scenarios, harness = sys.modules["scenarios"], sys.modules["harness"]
    variants = []
    for key in walls:
        many = key.endswith(scenarios.copies_suffix(scenarios.SEPARATE_TASKS))
        variants.append(scenarios.Variant(key, key, copies=scenarios.SEPARATE_TASKS if many else 1))
    scenario = scenarios.Scenario("s", "s", "", variants, items=items)
    runs = {}
    for key, values in walls.items():
        runs[key] = [
            harness.Measurement(
                wall=value or 0.0,
                cpu=(value or 0.0) / 2,
                peak_rss_kib=1024,
                returncode=0,
                calls=collections.Counter(),
                error=None if value is not None else "failed",
                round_index=index,
            )
            for index, value in enumerate(values)
        ]
    return report.summarise(scenario, runs, None)


def test_paired_ratio_is_the_median_of_per_round_ratios(report: ModuleType) -> None:
    # Round 1 ran on a machine twice as slow: its ratio is the same as the others', medians are not.
    result = build_result(
        report,
        {
            "debug": [1.0, 2.0, 1.0],
            "module": [1.8, 3.6, 1.7],
            "amazon.aws": [2.0, 4.0, 2.0],
        },
    )
    paired = result.paired_ratio("module", "amazon.aws")
    assert paired.rounds == 3
    assert paired.median == pytest.approx(0.8)
    assert (paired.low, paired.high) == (pytest.approx(0.7), pytest.approx(0.8))
    assert result.paired_ratio("module", "amazon.aws", cpu=True).median == pytest.approx(0.8)


def test_paired_ratio_skips_rounds_missing_a_run(report: ModuleType) -> None:
    result = build_result(
        report,
        {
            "debug": [1.0, None, 1.0, 1.0],
            "module": [1.5, 1.5, None, 1.9],
            "amazon.aws": [2.0, 2.0, 2.0, 2.0],
        },
    )
    paired = result.paired_ratio("module", "amazon.aws")
    assert paired.rounds == 2  # round 1 has no baseline, round 2 no run of ours
    assert paired.median == pytest.approx((0.5 + 0.9) / 2)


def test_paired_ratio_per_item_and_further_tasks(report: ModuleType) -> None:
    loop = build_result(report, {"debug": [1.0, 1.0], "module": [11.0, 9.0], "amazon.aws": [21.0, 21.0]}, items=20)
    assert loop.round_costs("module") == {0: pytest.approx(0.5), 1: pytest.approx(0.4)}
    assert loop.paired_ratio("module", "amazon.aws").median == pytest.approx(0.45)

    scenarios = sys.modules["scenarios"]
    many = scenarios.copies_suffix(scenarios.SEPARATE_TASKS)
    further = scenarios.SEPARATE_TASKS - 1
    tasks = build_result(
        report,
        {
            "debug": [1.0, 1.0],
            "module": [2.0, 2.5],
            f"module{many}": [2.0 + further * 0.5, 2.5 + further * 0.5],  # each further task: 0.5 s
            "amazon.aws": [2.0, 2.0],
            f"amazon.aws{many}": [2.0 + further * 1.0, 2.0 + further * 1.0],
        },
    )
    assert tasks.round_costs("module", further=True) == {0: pytest.approx(0.5), 1: pytest.approx(0.5)}
    assert tasks.paired_ratio("module", "amazon.aws", further=True).median == pytest.approx(0.5)


def test_module_path_target_uses_the_paired_ratio(report: ModuleType) -> None:
    # Medians alone would give (2.6 - 1.4) / (3.0 - 1.4) = 0.75; two rounds of three say 0.95.
    result = build_result(
        report,
        {
            "debug": [1.0, 2.0, 1.4],
            "module": [1.95, 3.9, 2.6],
            "amazon.aws": [2.0, 4.0, 3.0],
        },
    )
    result.scenario.name = "noop-task"
    targets = {target.name: target for target in report.check_targets({"noop-task": result})}
    module_target = targets["module path no-op task vs amazon.aws, one task"]
    assert module_target.passed is False
    assert module_target.measured == "0.950"
    assert "median of 3 per-round ratios, range 0.75-0.95" in module_target.detail
    assert targets["controller-local no-op task vs amazon.aws, one task (pays the botocore import)"].passed is None


# ---------------------------------------------------------------------------------------------
# make bench-latency (benchmarks/latency_report.py)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def latency_report(report: ModuleType) -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS_DIR))
    try:
        return importlib.import_module("latency_report")
    finally:
        sys.path.remove(str(BENCHMARKS_DIR))


def latency_result(latency_report: ModuleType, users: int, variants: dict, runs: dict):
    """A ScenarioResult of an account of ``users``: ``runs[key]`` is a list of (wall, total calls, logical calls,
    throttled) tuples, None for a failed run."""
    scenarios, harness, report = sys.modules["scenarios"], sys.modules["harness"], sys.modules["report"]
    scenario = scenarios.Scenario("case", "case", "", list(variants.values()), account_size=users)
    measured = {
        key: [
            harness.Measurement(
                wall=run[0] if run else 0.0,
                cpu=(run[0] if run else 0.0) / 2,
                peak_rss_kib=1024,
                returncode=0,
                calls=collections.Counter({"ListAccessKeys": run[1] if run else 0}),
                error=None if run else "exit 2 (workdir x)\nboom",
                round_index=index,
                logical_calls=run[2] if run else 0,
                throttled=run[3] if run else 0,
            )
            for index, run in enumerate(values)
        ]
        for key, values in runs.items()
    }
    return report.summarise(scenario, measured, None)


def summarise_again(result):
    """The same runs summarised afresh (after a test changed one of them)."""
    runs = {key: summary.runs + summary.failures for key, summary in result.summaries.items()}
    return sys.modules["report"].summarise(result.scenario, runs, None)


def test_latency_and_rate_limits(latency_report: ModuleType) -> None:
    assert latency_report.latency_limit(1600, 0.05, 8) == pytest.approx(10.0)
    assert latency_report.latency_limit(400, 0.05, 32) == pytest.approx(0.625)
    assert latency_report.rate_limit_seconds(1603, 20) == pytest.approx(80.15)
    assert latency_report.retries(89, 63) == 26
    assert latency_report.retries(3, 5) == 0  # never negative


def test_latency_rows_limits_ratios_and_recommendation(latency_report: ModuleType) -> None:
    scenarios = sys.modules["scenarios"]
    lr = latency_report
    variants = {
        "debug": scenarios.Variant("debug", "baseline"),
        "in-process-w8": lr.BenchVariant("in-process-w8", "w8", max_workers=8),
        "in-process-w16": lr.BenchVariant("in-process-w16", "w16", max_workers=16),
        "floor": lr.BenchVariant("floor", "floor", script=True, retry_mode="standard"),
        "amazon.aws": scenarios.Variant("amazon.aws", "loop", extrapolated_from=40),
    }
    case = lr.Case("latency", latency=0.05)
    result = latency_result(
        lr,
        1600,
        variants,
        {
            "debug": [(1.0, 0, 0, 0), (1.0, 0, 0, 0)],
            "in-process-w8": [(13.0, 1603, 1603, 0), (12.0, 1603, 1603, 0)],  # task 11.5 s, limit 10 s
            "in-process-w16": [(8.0, 1603, 1603, 0), (7.0, 1603, 1603, 0)],  # task 6.5 s, limit 5 s
            "floor": [(300.0, 4801, 4801, 0)],
            "amazon.aws": [(41.0, 40, 40, 0)],  # 1 s a user: 1600 s for 1600 users
        },
    )
    rows = {row.variant.key: row for row in lr.build_rows(case, result)}
    w8, w16, floor, theirs = rows["in-process-w8"], rows["in-process-w16"], rows["floor"], rows["amazon.aws"]
    assert (w8.measured, w8.limit, w8.limit_ratio) == (pytest.approx(11.5), pytest.approx(10.0), pytest.approx(1.15))
    assert w8.passed is True
    assert w16.limit_ratio == pytest.approx(1.3) and w16.passed is True  # 1.3x is within 1.3x
    assert w8.floor_ratio == pytest.approx(12.5 / 300.0)
    assert theirs.wall == pytest.approx(1.0 + 40.0 * 1600 / 40)
    assert w8.theirs_ratio == pytest.approx(12.5 / 1601.0)
    assert floor.passed is None and floor.limit == pytest.approx(4801 * 0.05)  # one call after another
    assert theirs.limit == pytest.approx(1600 * 0.05)  # its 40 calls, extrapolated to 1600 users
    assert [target.verdict for target in lr.targets(list(rows.values()))] == ["PASS", "PASS"]
    assert lr.recommend_workers(list(rows.values())) == (
        "Values of max_workers meeting the latency target at every size: 8, 16. Fastest at N = 1600: 16. "
        "At N = 1600 (max_workers: task, task CPU) 8: 11.50 s task, 5.75 s CPU, 16: 6.50 s task, 3.25 s CPU."
    )

    # The same runs with the latency as the whole response time: their own section and targets; the
    # recommendation stays with the added latency, which the default was tuned on.
    total = lr.Case("latency", latency=0.05, total=True)
    total_rows = lr.build_rows(total, result)
    assert total.title == "(a) every call answered 50 ms after it was sent, moto's time included"
    assert case.title == "(a) 50 ms added to every call" and total != case
    assert [target.name.split(":")[0] for target in lr.targets(total_rows)] == [f"{total.title}, N = 1600"] * 2
    assert lr.recommend_workers(total_rows) is None

    result.summaries["in-process-w8"].runs[0].wall = 30.0  # w8 now misses at this size
    rows = lr.build_rows(case, summarise_again(result))
    assert lr.recommend_workers(rows).startswith("Values of max_workers meeting the latency target at every size: 16.")


def test_latency_rows_set_against_the_reference(latency_report: ModuleType) -> None:
    scenarios = sys.modules["scenarios"]
    lr = latency_report
    variants = {
        "debug": scenarios.Variant("debug", "baseline"),
        "in-process-w32": lr.BenchVariant("in-process-w32", "w32", max_workers=32),
    }
    runs = {"debug": [(1.0, 0, 0, 0)]}
    reference = lr.build_rows(
        lr.Case("reference"), latency_result(lr, 400, variants, {**runs, "in-process-w32": [(3.0, 403, 403, 0)]})
    )
    latency = lr.build_rows(
        lr.Case("latency", latency=0.05),
        latency_result(lr, 400, variants, {**runs, "in-process-w32": [(3.5, 403, 403, 0)]}),
    )
    assert reference[0].limit is None and reference[0].passed is None
    lr.attach_references(reference + latency)
    row = latency[0]
    assert (row.measured, row.reference, row.added) == (2.5, 2.0, pytest.approx(0.5))
    assert row.limit == pytest.approx(0.625) and row.passed is False  # 4x the limit
    assert row.added_ratio == pytest.approx(0.8)
    found = lr.targets(reference + latency)
    assert [(target.verdict, target.passed) for target in found] == [("FAIL", False), ("info", False), ("info", True)]
    # The client's CPU (half of each run's wall here, 1.25 s for the task on 1 CPU) is above the 0.625 s limit:
    # an informative target sets the task against that bound instead (2.5 s / 1.25 s).
    assert row.cpu_bound == pytest.approx(1.25) and row.machine_limit == pytest.approx(1.25)
    assert found[1].measured == "2.00x" and "no client reaches the limit here" in found[1].detail
    assert "No max_workers value measured" in lr.recommend_workers(latency)


def test_bucket_rows_count_retries_and_fail_a_failed_report(latency_report: ModuleType) -> None:
    scenarios = sys.modules["scenarios"]
    lr = latency_report
    variants = {
        "debug": scenarios.Variant("debug", "baseline"),
        "in-process-standard": lr.BenchVariant("in-process-standard", "standard", retry_mode="standard"),
        "in-process-adaptive": lr.BenchVariant("in-process-adaptive", "adaptive", retry_mode="adaptive"),
        "floor-standard": lr.BenchVariant("floor-standard", "floor s", script=True, retry_mode="standard"),
        "floor-adaptive": lr.BenchVariant("floor-adaptive", "floor a", script=True, retry_mode="adaptive"),
    }
    case = lr.Case("bucket", rate=20, burst=20)
    result = latency_result(
        lr,
        400,
        variants,
        {
            "debug": [(1.0, 0, 0, 0)],
            "in-process-standard": [(26.0, 500, 403, 97)],  # task 25 s, limit 403 / 20 = 20.15 s
            "in-process-adaptive": [(40.0, 420, 403, 17), None],  # one report failed
            "floor-standard": [(61.0, 1300, 1201, 99)],
            "floor-adaptive": [(80.0, 1250, 1201, 49)],
        },
    )
    rows = {row.variant.key: row for row in lr.build_rows(case, result)}
    standard, adaptive = rows["in-process-standard"], rows["in-process-adaptive"]
    assert (standard.calls, standard.logical_calls, standard.retries, standard.throttled) == (500, 403, 97, 97)
    assert standard.limit == pytest.approx(20.15)
    assert standard.limit_ratio == pytest.approx(25 / 20.15) and standard.passed is True
    assert standard.floor_ratio == pytest.approx(26.0 / 61.0)  # the floor with the same retry mode
    assert adaptive.floor_ratio == pytest.approx(40.0 / 80.0)
    assert adaptive.failures == 1 and adaptive.passed is False  # within 1.5x, but a report failed
    verdicts = {target.name.split(": ")[-1]: target for target in lr.targets(list(rows.values()))}
    assert verdicts["standard"].passed is True
    assert verdicts["adaptive"].passed is False and verdicts["adaptive"].measured == "1 failed"
    assert "calls / rate = 403 / 20" in verdicts["standard"].limit


def benchmark_module(name: str) -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS_DIR))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCHMARKS_DIR))


def test_make_args_keep_only_the_callers_options() -> None:
    harness, run = benchmark_module("harness"), benchmark_module("run")
    argv = ["--ansible-venv", ".build/bench-venv", "--write-results", "x.md", "--sizes", "400", "--ansible-venv=v"]
    assert harness.make_args(argv) == ["--sizes", "400"]
    assert run.rerun_command("bench-latency", "BENCH_LATENCY_ARGS", argv) == (
        'make bench-latency BENCH_LATENCY_ARGS="--sizes 400"'
    )
    assert run.rerun_command("bench-org", "BENCH_ORG_ARGS", argv[:4]) == "make bench-org"


def test_organization_layouts_grow_one_dimension_at_a_time() -> None:
    organization = benchmark_module("organization")
    args = organization.parse_args(["--accounts", "20,40", "--users", "100,200", "--forks", "5,10"])
    assert args.forks == [1, 5, 10]  # forks 1 always runs: the speed-ups are against it
    Layout = organization.Layout
    assert organization.layouts(args) == [Layout(20, 100), Layout(40, 100), Layout(20, 200)]
    assert organization.layouts(organization.parse_args(["--accounts", "3", "--users", "4"])) == [Layout(3, 4)]


def test_organization_report_must_cover_every_account_and_key(tmp_path: Path) -> None:
    organization = benchmark_module("organization")
    layout = organization.Layout(2, 3)
    report = tmp_path / "report.json"
    assert "no readable report" in organization.report_problem(report, layout)
    totals = {"accounts": 2, "accounts_audited": 2, "accounts_failed": 0, "keys": 12}
    report.write_text(json.dumps({"totals": totals}), encoding="utf-8")
    assert organization.report_problem(report, layout) is None
    report.write_text(json.dumps({"totals": {**totals, "accounts_audited": 1, "accounts_failed": 1}}), encoding="utf-8")
    assert "expected" in organization.report_problem(report, layout)


def test_organization_forks_target_and_cpu_bound() -> None:
    organization = benchmark_module("organization")
    layout = organization.Layout(20, 100)

    def run(forks, wall, cpu=(10.0, 8.0), error=None, max_workers=None):
        calls = {"ListAccessKeys": 2000, "AssumeRole": 20, "ListAccountsForParent": 1}
        return organization.OrgRun(layout, forks, max_workers, wall, *cpu, calls, error)

    runs = [run(1, 100.0), run(1, 120.0), run(10, 25.0), run(10, 26.0), run(10, 1.0, error="exit 2")]
    rows = organization.build_rows(runs)
    assert [(row.forks, row.max_workers, len(row.runs)) for row in rows] == [(1, None, 2), (10, None, 2)]
    assert rows[0].value("iam_calls") == 2000  # without STS and Organizations
    (target,) = organization.build_targets(rows, layout, [1, 10], cpus=2)
    assert target.passed is True and target.measured == "4.31x"  # 110 s / 25.5 s
    assert "18.0 CPU s, 9.0 s on 2 CPUs" in target.detail
    (target,) = organization.build_targets(organization.build_rows([*runs[:2], run(10, 40.0)]), layout, [1, 10], 2)
    assert target.passed is False and target.measured == "2.75x"
    # With one call at a time in an account: the same ratio, informative, beside the target.
    sequential = [run(1, 200.0, max_workers=1), run(10, 25.0, max_workers=1)]
    found = organization.build_targets(organization.build_rows(runs[:4] + sequential), layout, [1, 10], 2)
    assert [(target.verdict, target.measured) for target in found] == [("PASS", "4.31x"), ("info", "8.00x")]
    assert "audit_max_workers 1" in found[1].name
