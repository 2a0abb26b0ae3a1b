# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The arithmetic behind benchmarks/RESULTS.md's ratio targets (benchmarks/report.py): no timing here."""

from __future__ import annotations

import collections
import importlib
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
