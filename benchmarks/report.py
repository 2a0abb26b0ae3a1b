# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Summaries, the issue's targets, and the Markdown report of a benchmark run.

A variant's *task cost* is its median wall time minus the median of the baseline play (the same
play with only the debug task), so it is what the measured task or loop adds to a playbook. Ratios
to amazon.aws are paired: each round of a scenario runs every variant once, back to back, so a
round gives one ours/theirs ratio of costs measured minutes apart at most; the ratio reported is
the median over the rounds. This machine's speed changes by a third from one minute to the next
(other tenants), which moves medians taken over a whole scenario far more than paired ratios.
"""

from __future__ import annotations

import collections
import dataclasses
import statistics
from typing import Any

from harness import Measurement
from scenarios import LOOP_ITEMS, SEPARATE_TASKS, THEIR_LOOP_SIZE, Scenario, Variant, copies_suffix

KIB_PER_MIB = 1024
NOT_MEASURED = "not measured in this run"


@dataclasses.dataclass
class Summary:
    variant: Variant
    runs: list[Measurement]
    failures: list[Measurement]
    task: float | None = None  # median minus the baseline median
    task_cpu: float | None = None  # the same for the CPU time of the process tree
    estimated_wall: float | None = None  # extrapolated full-size wall time (amazon.aws loop over fewer users)

    @property
    def ok(self) -> bool:
        return bool(self.runs)

    @property
    def walls(self) -> list[float]:
        return [run.wall for run in self.runs]

    @property
    def median(self) -> float:
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float:
        return statistics.median(run.cpu for run in self.runs)

    @property
    def server_cpu(self) -> float:
        """moto_server's and the proxy's CPU seconds in a run (median)."""
        return statistics.median(run.server_cpu for run in self.runs)

    @property
    def wall(self) -> float:
        """The median, or the extrapolated full-size estimate when there is one."""
        return self.estimated_wall if self.estimated_wall is not None else self.median

    @property
    def peak_rss_mib(self) -> float:
        return max(run.peak_rss_kib for run in self.runs) / KIB_PER_MIB

    @property
    def calls(self) -> collections.Counter:
        """The calls of the run that made the most (the one a budget must hold for)."""
        return max((run.calls for run in self.runs), key=lambda calls: sum(calls.values()))

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def calls_vary(self) -> bool:
        return len({tuple(sorted(run.calls.items())) for run in self.runs}) > 1

    @property
    def writes(self) -> int:
        return max(run.writes for run in self.runs)


@dataclasses.dataclass
class ScenarioResult:
    scenario: Scenario
    summaries: dict[str, Summary]
    baseline: float | None = None
    baseline_cpu: float | None = None
    baseline_source: str = ""

    def get(self, key: str) -> Summary | None:
        summary = self.summaries.get(key)
        return summary if summary is not None and summary.ok else None

    def task(self, key: str) -> float | None:
        summary = self.get(key)
        return None if summary is None else summary.task

    def task_cpu(self, key: str) -> float | None:
        summary = self.get(key)
        return None if summary is None else summary.task_cpu

    def per_item(self, key: str, cpu: bool = False) -> float | None:
        task = self.task_cpu(key) if cpu else self.task(key)
        return None if task is None else task / self.scenario.items

    def further_task(self, key: str, cpu: bool = False) -> float | None:
        """The cost of each separate task after the first: (cost of n tasks - cost of 1) / (n - 1)."""
        many = self.get(key + copies_suffix(SEPARATE_TASKS))
        one = self.get(key)
        if many is None or one is None or many.task is None or one.task is None:
            return None
        if cpu:
            return (many.task_cpu - one.task_cpu) / (SEPARATE_TASKS - 1)
        return (many.task - one.task) / (SEPARATE_TASKS - 1)

    def _runs_by_round(self, key: str | None) -> dict[int, Measurement]:
        summary = self.get(key) if key else None
        if summary is None:
            return {}
        return {run.round_index: run for run in summary.runs if run.round_index is not None}

    def round_costs(self, key: str, cpu: bool = False, further: bool = False) -> dict[int, float]:
        """The cost of ``key`` in each round, from that round's runs only (wall or CPU seconds).

        A task's or loop's cost per item (its run minus the round's baseline run; the median
        baseline when the scenario has none of its own), or with ``further`` the cost of each
        separate task after the first.
        """

        def seconds_of(run: Measurement) -> float:
            return run.cpu if cpu else run.wall

        runs = self._runs_by_round(key)
        if further:
            many = self._runs_by_round(key + copies_suffix(SEPARATE_TASKS))
            return {
                index: (seconds_of(many[index]) - seconds_of(runs[index])) / (SEPARATE_TASKS - 1)
                for index in runs.keys() & many.keys()
            }
        own = self._runs_by_round(self.scenario.baseline_key)
        if own:
            baselines = {index: seconds_of(run) for index, run in own.items()}
        elif self.baseline is not None:
            baselines = dict.fromkeys(runs, self.baseline_cpu if cpu else self.baseline)
        else:
            return {}
        return {
            index: (seconds_of(run) - baselines[index]) / self.scenario.items
            for index, run in runs.items()
            if index in baselines
        }

    def paired_ratio(self, key: str, other: str, cpu: bool = False, further: bool = False) -> PairedRatio | None:
        """``key``'s cost over ``other``'s, round by round (see the module docstring)."""
        ours, theirs = self.round_costs(key, cpu, further), self.round_costs(other, cpu, further)
        ratios = [ours[index] / theirs[index] for index in sorted(ours.keys() & theirs.keys()) if theirs[index] > 0]
        if not ratios:
            return None
        return PairedRatio(statistics.median(ratios), min(ratios), max(ratios), len(ratios))


@dataclasses.dataclass(frozen=True)
class PairedRatio:
    """ours/theirs cost ratios of the rounds both were measured in: their median, lowest and highest."""

    median: float
    low: float
    high: float
    rounds: int

    def describe(self) -> str:
        return f"median of {self.rounds} per-round ratios, range {self.low:.2f}-{self.high:.2f}"


def summarise(
    scenario: Scenario, runs: dict[str, list[Measurement]], global_baseline: tuple[float, float] | None
) -> ScenarioResult:
    summaries = {}
    for variant in scenario.variants:
        measured = runs.get(variant.key, [])
        summaries[variant.key] = Summary(
            variant, [run for run in measured if run.error is None], [run for run in measured if run.error]
        )
    result = ScenarioResult(scenario, summaries)
    own = result.get(scenario.baseline_key) if scenario.baseline_key else None
    if own is not None:
        result.baseline, result.baseline_cpu = own.median, own.cpu
        result.baseline_source = "this scenario's baseline play"
    elif global_baseline is not None:
        result.baseline, result.baseline_cpu = global_baseline
        result.baseline_source = "the baseline play of noop-task"
    for summary in summaries.values():
        if not summary.ok or summary.variant.script or summary.variant.key == "debug" or result.baseline is None:
            continue
        summary.task = summary.median - result.baseline
        summary.task_cpu = summary.cpu - result.baseline_cpu
        measured = summary.variant.extrapolated_from
        if measured:
            summary.task *= (scenario.account_size or measured) / measured
            summary.task_cpu *= (scenario.account_size or measured) / measured
            summary.estimated_wall = result.baseline + summary.task
    return result


# ---------------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------------


def seconds(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def times(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}x" if abs(value) < 0.1 else f"{value:.2f}x"


def format_calls(calls: collections.Counter) -> str:
    if not calls:
        return "0"
    parts = ", ".join(
        f"{action} {count}" for action, count in sorted(calls.items(), key=lambda item: (-item[1], str(item[0])))
    )
    return f"{sum(calls.values())}: {parts}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _column in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def comparison(result: ScenarioResult, summary: Summary) -> str:
    """Ours against amazon.aws (task costs) and, for whole-account reports, against the floor (wall times)."""
    if not summary.variant.is_ours:
        return ""
    notes = []
    theirs = result.get(summary.variant.theirs_key)
    if theirs is not None:
        if result.scenario.account_size:
            notes.append(f"{times(ratio(summary.median, theirs.wall))} amazon.aws (wall)")
        else:
            wall = result.paired_ratio(summary.variant.key, theirs.variant.key)
            cpu = result.paired_ratio(summary.variant.key, theirs.variant.key, cpu=True)
            notes.append(
                f"{times(wall.median if wall else None)} amazon.aws (CPU {times(cpu.median if cpu else None)})"
            )
    floor = result.get("floor")
    if floor is not None:
        notes.append(f"{times(ratio(summary.median, floor.median))} floor (wall)")
    return "; ".join(notes)


def scenario_table(result: ScenarioResult) -> str:
    scenario = result.scenario
    header = [
        "variant",
        "runs",
        "median s",
        "min-max s",
        "task s",
        "task CPU s",
        "ratio",
        "API calls per run",
        "peak RSS MiB",
    ]
    rows = []
    for summary in result.summaries.values():
        variant = summary.variant
        if not summary.ok:
            problem = summary.failures[0].error.splitlines()[0] if summary.failures else "not run"
            rows.append([variant.label, "0", "FAILED", problem[:80], "", "", "", "", ""])
            continue
        task = seconds(summary.task)
        task_cpu = seconds(summary.task_cpu) if summary.task is not None else seconds(summary.cpu)
        if summary.task is not None and scenario.items > 1:
            task += f" ({summary.task / scenario.items:.3f}/item)"
            task_cpu += f" ({summary.task_cpu / scenario.items:.3f}/item)"
        if summary.task is not None and variant.copies > 1:
            task += f" ({summary.task / variant.copies:.3f}/task)"
            task_cpu += f" ({summary.task_cpu / variant.copies:.3f}/task)"
        median = seconds(summary.median)
        if summary.estimated_wall is not None:
            median += f" (est. {summary.estimated_wall:.1f} for {scenario.account_size})"
        calls = format_calls(summary.calls) + (" (varies; max shown)" if summary.calls_vary else "")
        if summary.estimated_wall is not None:
            calls += f" (for {variant.extrapolated_from} users)"
        rows.append(
            [
                variant.label,
                str(len(summary.runs)) + (f" (+{len(summary.failures)} failed)" if summary.failures else ""),
                median,
                f"{min(summary.walls):.2f}-{max(summary.walls):.2f}",
                task,
                task_cpu,
                comparison(result, summary),
                calls,
                f"{summary.peak_rss_mib:.0f}",
            ]
        )
    lines = [f"### {scenario.name}: {scenario.title}", "", scenario.description, "", markdown_table(header, rows)]
    if result.baseline is not None and scenario.name != "noop-task":
        lines += [
            "",
            f"task s = median - {result.baseline:.2f} s, task CPU s = CPU - {result.baseline_cpu:.2f} s "
            f"({result.baseline_source}).",
        ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Target:
    name: str
    limit: str
    measured: str
    passed: bool | None  # None: not measured in this run, or informative
    detail: str = ""
    informative: bool = False  # measured, but the issue sets its limit elsewhere (another N)

    @property
    def verdict(self) -> str:
        if self.informative:
            return "info"
        return {True: "PASS", False: "FAIL", None: "n/a"}[self.passed]


def check_targets(results: dict[str, ScenarioResult]) -> list[Target]:
    targets: list[Target] = []
    noop = results.get("noop-task")
    loop = results.get("noop-loop")

    def cost(result: ScenarioResult | None, key: str, cpu: bool = False, further: bool = False) -> float | None:
        """Task cost (one task), cost of each further separate task, or per-item cost (a loop); wall or CPU."""
        if result is None:
            return None
        if further:
            return result.further_task(key, cpu)
        if result.scenario.items > 1:
            return result.per_item(key, cpu)
        return result.task_cpu(key) if cpu else result.task(key)

    def ratio_target(name: str, limit: float, result: ScenarioResult | None, key: str, further: bool = False) -> Target:
        what = "task cost"
        if further:
            what = "cost of each further task"
        elif result is not None and result.scenario.items > 1:
            what = "per item"
        ours_cost, their_cost = cost(result, key, further=further), cost(result, "amazon.aws", further=further)
        paired = result.paired_ratio(key, "amazon.aws", further=further) if result is not None else None
        if paired is None:
            return Target(name, f"<= {limit}", NOT_MEASURED, None)
        paired_cpu = result.paired_ratio(key, "amazon.aws", cpu=True, further=further)
        detail = (
            f"{paired.describe()}; {what} (medians) {seconds(ours_cost, 3)} s vs amazon.aws "
            f"{seconds(their_cost, 3)} s; CPU ratio {times(paired_cpu.median if paired_cpu else None)}"
        )
        return Target(name, f"<= {limit}", f"{paired.median:.3f}", paired.median <= limit, detail)

    targets += [
        ratio_target(
            "controller-local no-op task vs amazon.aws, one task (pays the botocore import)", 0.3, noop, "in-process"
        ),
        ratio_target(
            f"controller-local no-op task vs amazon.aws, each further separate task (of {SEPARATE_TASKS})",
            0.3,
            noop,
            "in-process",
            further=True,
        ),
        ratio_target(
            f"controller-local loop item vs amazon.aws loop item ({LOOP_ITEMS} items)", 0.1, loop, "in-process"
        ),
        ratio_target("module path no-op task vs amazon.aws, one task", 0.9, noop, "module"),
        ratio_target(
            f"module path no-op task vs amazon.aws, each further separate task (of {SEPARATE_TASKS})",
            0.9,
            noop,
            "module",
            further=True,
        ),
        ratio_target("module path loop item vs amazon.aws", 0.9, loop, "module"),
    ]
    for result in results.values():
        limit = result.scenario.max_calls_per_item
        if limit is None:
            continue
        for summary in result.summaries.values():
            if not summary.ok or not summary.variant.is_ours:
                continue
            per_item = summary.total_calls / (result.scenario.items * summary.variant.copies)
            writes_ok = summary.writes == 0 or not result.scenario.no_writes
            targets.append(
                Target(
                    f"no-op reconcile API calls ({result.scenario.name}, {summary.variant.key})",
                    f"<= {limit} calls a task or item" + (", no write" if result.scenario.no_writes else ""),
                    f"{per_item:g} calls a task or item, {summary.writes} writes",
                    per_item <= limit and writes_ok,
                    format_calls(summary.calls),
                )
            )
    info_user = results.get("info-user")
    for key in ("in-process", "module"):
        summary = info_user.get(key) if info_user else None
        if summary is not None:
            targets.append(
                Target(
                    f"info for one user with 2 keys, API calls ({key})",
                    f"<= 2 + k = {info_user.scenario.budget}",
                    str(summary.total_calls),
                    summary.total_calls <= info_user.scenario.budget,
                    format_calls(summary.calls),
                )
            )
    targets += account_targets(results)
    return targets


def account_targets(results: dict[str, ScenarioResult]) -> list[Target]:
    targets: list[Target] = []
    accounts = sorted(
        (result for result in results.values() if result.scenario.account_size), key=lambda r: r.scenario.account_size
    )
    for result in accounts:
        users = result.scenario.account_size
        for key in ("in-process", "module"):
            summary = result.get(key)
            if summary is None:
                continue
            targets.append(
                Target(
                    f"whole-account info API calls, N = {users} ({key})",
                    f"<= N + ceil(N/100) + 5 = {result.scenario.budget}",
                    str(summary.total_calls),
                    summary.total_calls <= result.scenario.budget,
                    format_calls(summary.calls),
                )
            )
    at_loop_size = next((r for r in accounts if r.scenario.account_size == THEIR_LOOP_SIZE), None)
    ours = at_loop_size.get("in-process") if at_loop_size else None
    theirs = at_loop_size.get("amazon.aws") if at_loop_size else None
    speedup = ratio(theirs.wall if theirs else None, ours.median if ours else None)
    label = ""
    if theirs is not None and theirs.variant.extrapolated_from:
        label = f" (amazon.aws extrapolated from {theirs.variant.extrapolated_from} users)"
    targets.append(
        Target(
            f"whole-account info vs amazon.aws loop over users, N = {THEIR_LOOP_SIZE}",
            ">= 25x faster",
            NOT_MEASURED if speedup is None else f"{speedup:.1f}x faster{label}",
            None if speedup is None else speedup >= 25,
            "" if speedup is None else f"wall {ours.median:.2f} s vs {theirs.wall:.2f} s",
        )
    )
    for result in accounts:
        users = result.scenario.account_size
        ours = result.get("in-process")
        floor = result.get("floor")
        value = ratio(ours.median if ours else None, floor.median if floor else None)
        decisive = users == THEIR_LOOP_SIZE or not any(r.scenario.account_size == THEIR_LOOP_SIZE for r in accounts)
        if value is None:
            continue  # the floor runs with make bench-compare
        targets.append(
            Target(
                f"whole-account info vs plain-boto3 floor, N = {users}",
                "<= 1.5x",
                f"{value:.2f}x",
                value <= 1.5 if decisive else None,
                f"wall {ours.median:.2f} s (whole playbook) vs {floor.median:.2f} s (whole script); "
                f"task only {times(ratio(ours.task, floor.median))}",
                informative=not decisive,
            )
        )
    targets += growth_targets(accounts)
    return targets


def growth_targets(accounts: list[ScenarioResult]) -> list[Target]:
    targets: list[Target] = []
    for key in ("in-process", "module"):
        points = [(r.scenario.account_size, r.task(key)) for r in accounts if r.task(key) is not None]
        if len(points) < 2:
            continue
        steps = [
            f"N {low}->{high}: task x{high_cost / low_cost:.2f} for users x{high / low:g}"
            for (low, low_cost), (high, high_cost) in zip(points, points[1:])
            if low_cost > 0
        ]
        (first, first_cost), (last, last_cost) = points[0], points[-1]
        growth = ratio(last_cost, first_cost)
        users = last / first
        targets.append(
            Target(
                f"whole-account info growth, N = {first} -> {last} ({key})",
                f"<= x{users:g} (linear)",
                "-" if growth is None else f"x{growth:.2f}",
                None if growth is None else growth <= users,
                "; ".join(steps)
                + "; per user "
                + ", ".join(f"N={users_}: {cost / users_ * 1000:.2f} ms" for users_, cost in points),
            )
        )
    return targets


def targets_table(targets: list[Target]) -> str:
    rows = [[target.verdict, target.name, target.limit, target.measured, target.detail] for target in targets]
    return markdown_table(["", "target", "limit", "measured", "detail"], rows)


# ---------------------------------------------------------------------------------------------
# The reading
# ---------------------------------------------------------------------------------------------


def reading(results: dict[str, ScenarioResult], targets: list[Target]) -> list[str]:
    """A few sentences read off the numbers, so the report explains itself after every run."""
    lines: list[str] = []
    noop = results.get("noop-task")
    if noop is not None and noop.baseline is not None:
        ping = noop.task("ping")
        lines.append(
            f"A playbook with one debug task takes {noop.baseline:.2f} s here; a ping task adds "
            f"{seconds(ping)} s, the price of starting a module process."
        )
        inproc, module, theirs = noop.task("in-process"), noop.task("module"), noop.task("amazon.aws")
        sentence = (
            f"A separate no-op keyguard.aws task adds {seconds(inproc)} s in-process and {seconds(module)} s on "
            "the module path"
        )
        if theirs is not None:
            paired = [noop.paired_ratio(key, "amazon.aws") for key in ("in-process", "module")]
            sentence += (
                f", against {theirs:.2f} s for amazon.aws ({times(paired[0].median if paired[0] else None)} and "
                f"{times(paired[1].median if paired[1] else None)}, paired by round)"
            )
        lines.append(sentence + ".")
        further = [noop.further_task(key) for key in ("in-process", "module", "amazon.aws")]
        if further[0] is not None:
            sentence = (
                f"Each further separate task costs {seconds(further[0], 3)} s in-process (each task runs in a new "
                "worker process, which builds its IAM client from the models the controller's main process loaded "
                "after the first in-process task; the second task waits for that) and "
                f"{seconds(further[1], 3)} s on the module path"
            )
            if further[2] is not None:
                sentence += f", against {seconds(further[2], 3)} s for amazon.aws"
            lines.append(sentence + ".")
    loop = results.get("noop-loop")
    if loop is not None:
        sentence = (
            f"Looping over {LOOP_ITEMS} users costs {seconds(loop.per_item('in-process'), 3)} s an item in-process "
            f"(the first item pays the botocore import and the client) and {seconds(loop.per_item('module'), 3)} s "
            "on the module path"
        )
        if loop.get("amazon.aws") is not None:
            sentence += f", against {seconds(loop.per_item('amazon.aws'), 3)} s with amazon.aws"
        lines.append(sentence + ".")
    accounts = sorted(
        (result for result in results.values() if result.scenario.account_size), key=lambda r: r.scenario.account_size
    )
    for result in accounts:
        ours, floor, theirs = result.get("in-process"), result.get("floor"), result.get("amazon.aws")
        if ours is None:
            continue
        users = result.scenario.account_size
        sentence = (
            f"N = {users}: the whole-account report takes {ours.median:.2f} s as a playbook "
            f"({seconds(ours.task)} s for the task) in {ours.total_calls} calls (budget {result.scenario.budget})"
        )
        if floor is not None:
            sentence += f"; the plain-boto3 floor takes {floor.median:.2f} s in {floor.total_calls} calls"
        if theirs is not None:
            how = "estimated" if theirs.estimated_wall is not None else "measured"
            sentence += f"; amazon.aws's loop over users takes {theirs.wall:.1f} s ({how}) without last use"
        lines.append(sentence + ".")
    if accounts:
        biggest = accounts[-1]
        inproc, module = biggest.get("in-process"), biggest.get("module")
        if inproc is not None and module is not None:
            lines.append(
                f"Peak memory at N = {biggest.scenario.account_size}: {inproc.peak_rss_mib:.0f} MiB in-process "
                f"(the report is built in the worker), {module.peak_rss_mib:.0f} MiB on the module path."
            )
    failed = [target for target in targets if target.passed is False]
    if failed:
        lines.append("Targets missed: " + "; ".join(f"{target.name} ({target.measured})" for target in failed) + ".")
    elif any(target.passed for target in targets):
        lines.append("Every target measured in this run is met.")
    return lines


def render(
    results: dict[str, ScenarioResult],
    targets: list[Target],
    meta: dict[str, Any],
    title: str,
    notes: list[str],
    caveats: list[str] = (),
) -> str:
    parts = [f"# {title}", ""]
    parts += [f"- {name}: {value}" for name, value in meta.items()]
    parts += ["", "## Targets (issue 6)", "", targets_table(targets), "", "## Reading", ""]
    parts += [f"- {line}" for line in [*caveats, *reading(results, targets)]]
    parts += ["", "## Scenarios", ""]
    for result in results.values():
        parts += [scenario_table(result), ""]
    parts += ["## How this is measured", ""]
    parts += [f"- {note}" for note in notes]
    return "\n".join(parts) + "\n"
