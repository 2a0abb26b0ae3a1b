# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The arithmetic and the Markdown of ``make bench-latency`` (benchmarks/latency.py): the whole-account
report under real IAM's latency and rate limit, next to the two limits of issue 14.

- latency case: every call waits ``latency`` seconds; N users need N ListAccessKeys calls on
  ``max_workers`` threads, so no report can take less than N x latency / max_workers. Target: 1.3x.
- bucket case: a token bucket of ``rate`` calls a second; a report of C calls cannot take less than
  C / rate (C: the report's own calls, each retry of one call not counted again). Target: 1.5x, and
  no failed report.
- reference case: the latency case's variants with nothing added, so that what the latency adds
  (task s - task s at 0 ms) can be set against the limit too, apart from the CPU-bound work of the
  client and of moto on the same CPUs.

The measured time of a playbook variant is its task cost (median wall time minus the baseline play's);
the floor script's is its whole wall time; amazon.aws's loop over the first M users is extrapolated to N.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from report import ScenarioResult, Summary, Target, markdown_table, ratio, seconds, targets_table, times
from scenarios import Variant

LATENCY_FACTOR = 1.3
RATE_FACTOR = 1.5


@dataclasses.dataclass(frozen=True)
class Case:
    """What the proxy does to every call during a case: added latency, or a token bucket."""

    name: str  # "latency", "bucket" or "reference"
    latency: float = 0.0
    rate: float | None = None
    burst: int | None = None
    total: bool = False  # the latency is the whole response time, moto's included (the proxy answers no sooner)

    @property
    def title(self) -> str:
        if self.name == "latency" and self.total:
            return f"(a) every call answered {self.latency * 1000:g} ms after it was sent, moto's time included"
        if self.name == "latency":
            return f"(a) {self.latency * 1000:g} ms added to every call"
        if self.name == "reference":
            return "(0) nothing added (reference for (a))"
        return f"(b) token bucket of {self.rate:g} calls/s, burst {self.burst}"

    @property
    def factor(self) -> float:
        return LATENCY_FACTOR if self.name == "latency" else RATE_FACTOR


@dataclasses.dataclass
class BenchVariant(Variant):
    """A variant with the settings the latency report reads: keyguard.aws's max_workers and retry mode."""

    max_workers: int | None = None
    retry_mode: str | None = None
    max_calls_per_second: int | None = None
    pool: bool = False  # aws_config.max_pool_connections set to max_workers


def latency_limit(users: int, latency: float, workers: int) -> float:
    """No report of ``users`` users (one ListAccessKeys each) on ``workers`` threads is faster than this."""
    return users * latency / workers


def rate_limit_seconds(calls: int, rate: float) -> float:
    """No run of ``calls`` calls under a bucket refilled at ``rate`` a second is (much) faster than this."""
    return calls / rate


def retries(total_calls: int, logical_calls: int) -> int:
    """Requests beyond the SDK's own calls: the re-sends of throttled (or failed) attempts."""
    return max(0, total_calls - logical_calls)


@dataclasses.dataclass
class Row:
    """One variant of one case at one account size, as the tables show it."""

    case: Case
    users: int
    variant: Variant
    runs: int
    failures: int
    failure: str | None = None
    wall: float | None = None  # median, or the extrapolated estimate (amazon.aws)
    measured: float | None = None  # task cost (playbooks) or whole wall time (the floor)
    cpu: float | None = None  # task CPU (playbooks) or the whole CPU time (the floor)
    server_cpu: float | None = None  # moto_server's and the proxy's CPU in the run
    cpus: int = 1
    calls: int = 0
    logical_calls: int = 0
    throttled: int = 0
    measured_users: int | None = None  # amazon.aws: the users its calls and CPU are counted for
    limit: float | None = None
    floor_ratio: float | None = None  # this wall / the floor's wall
    theirs_ratio: float | None = None  # this wall / amazon.aws's (estimated) wall
    reference: float | None = None  # the same variant's task s with nothing added (latency case)

    @property
    def added(self) -> float | None:
        """What the latency added to the task: task s minus the reference's."""
        if self.measured is None or self.reference is None:
            return None
        return self.measured - self.reference

    @property
    def added_ratio(self) -> float | None:
        return ratio(self.added, self.limit)

    @property
    def retries(self) -> int:
        return retries(self.calls, self.logical_calls)

    @property
    def cpu_bound(self) -> float | None:
        """The run's CPU work (the client's, moto's and the proxy's, on the same CPUs) over the CPU count: no
        schedule of it finishes sooner on this machine, whatever the latency or the workers."""
        if self.cpu is None or self.server_cpu is None:
            return None
        return (self.cpu + self.server_cpu) / self.cpus

    @property
    def machine_limit(self) -> float | None:
        """The case's limit, or the CPU bound where this machine cannot go below it."""
        if self.limit is None or self.cpu_bound is None:
            return None
        return max(self.limit, self.cpu_bound)

    @property
    def limit_ratio(self) -> float | None:
        return ratio(self.measured, self.limit)

    @property
    def is_ours(self) -> bool:
        return self.variant.is_ours

    @property
    def passed(self) -> bool | None:
        if not self.is_ours or self.case.name == "reference":
            return None
        if self.failures or self.limit_ratio is None:
            return False
        return self.limit_ratio <= self.case.factor


def _run_with_most_calls(summary: Summary) -> Any:
    return max(summary.runs, key=lambda run: run.total_calls)


def attach_references(rows: list[Row]) -> None:
    """Give each latency-case row the task time of the same variant and size in the reference case."""
    reference = {(row.users, row.variant.key): row.measured for row in rows if row.case.name == "reference"}
    for row in rows:
        if row.case.name == "latency":
            row.reference = reference.get((row.users, row.variant.key))


def row_limit(case: Case, users: int, variant: Variant, logical_calls: int) -> float | None:
    """The case's limit for this variant: N x latency / max_workers (ours; one call after another, calls x
    latency, for the floor and amazon.aws's loop), or calls / rate (anyone)."""
    if case.name == "reference":
        return None
    if case.name == "latency":
        workers = getattr(variant, "max_workers", None)
        if workers:
            return latency_limit(users, case.latency, workers)
        return logical_calls * case.latency if logical_calls else None
    if case.rate is None or not logical_calls:
        return None
    return rate_limit_seconds(logical_calls, case.rate)


def floor_for(result: ScenarioResult, variant: Variant) -> Summary | None:
    """The floor run with the same retry mode as ``variant`` (or the only floor, or the standard-mode one)."""
    mode = getattr(variant, "retry_mode", None)
    for key in ([f"floor-{mode}"] if mode else []) + ["floor", "floor-standard"]:
        if result.get(key) is not None:
            return result.get(key)
    return None


def build_rows(case: Case, result: ScenarioResult, cpus: int = 1) -> list[Row]:
    users = result.scenario.account_size or 0
    theirs = result.get("amazon.aws")
    rows = []
    for summary in result.summaries.values():
        variant = summary.variant
        if variant.key == "debug":
            continue
        row = Row(case, users, variant, len(summary.runs), len(summary.failures), cpus=cpus)
        if summary.failures:
            row.failure = summary.failures[0].error.splitlines()[0][:120]
        if summary.ok:
            run = _run_with_most_calls(summary)
            row.wall = summary.wall
            row.measured = summary.median if variant.script else summary.task
            row.cpu = summary.cpu if variant.script else summary.task_cpu
            row.server_cpu = summary.server_cpu
            row.calls, row.logical_calls, row.throttled = run.total_calls, run.logical_calls, run.throttled
            row.measured_users = variant.extrapolated_from
            if variant.extrapolated_from:  # a limit for N users, from the calls of M
                logical = round(run.logical_calls * users / variant.extrapolated_from)
            else:
                logical = run.logical_calls
            row.limit = row_limit(case, users, variant, logical)
            if variant.is_ours:
                floor = floor_for(result, variant)
                row.floor_ratio = ratio(summary.median, floor.median if floor else None)
                row.theirs_ratio = ratio(summary.median, theirs.wall if theirs else None)
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------
# Targets and the reading
# ---------------------------------------------------------------------------------------------


def limit_formula(row: Row) -> str:
    if row.case.name == "latency":
        workers = getattr(row.variant, "max_workers", None)
        if not workers:
            return f"calls x latency = {row.logical_calls} x {row.case.latency:g}"
        return f"N x latency / max_workers = {row.users} x {row.case.latency:g} / {workers}"
    calls = round(row.limit * row.case.rate) if row.limit is not None else row.logical_calls
    return f"calls / rate = {calls} / {row.case.rate:g}"


def targets(rows: list[Row]) -> list[Target]:
    found = []
    for row in rows:
        if not row.is_ours or row.case.name == "reference":
            continue
        name = f"{row.case.title}, N = {row.users}: {row.variant.label}"
        limit = f"<= {row.case.factor:g}x {limit_formula(row)} s" + (", no failed report" if row.case.rate else "")
        if row.failures:
            found.append(Target(name, limit, f"{row.failures} failed", False, row.failure or ""))
            continue
        detail = (
            f"task {seconds(row.measured)} s, limit {seconds(row.limit)} s; {row.calls} calls, "
            f"{row.retries} retries, {row.throttled} throttled; task CPU {seconds(row.cpu)} s, moto + proxy CPU "
            f"{seconds(row.server_cpu)} s, CPU bound {seconds(row.cpu_bound)} s on {row.cpus} CPUs"
        )
        found.append(Target(name, limit, times(row.limit_ratio), row.passed, detail))
        if row.case.name == "latency" and row.cpu_bound is not None and row.cpu_bound > row.limit:
            machine_ratio = ratio(row.measured, row.machine_limit)
            found.append(
                Target(
                    f"{name}, against what this machine's CPUs allow",
                    f"<= {row.case.factor:g}x max(limit, CPU bound) = {seconds(row.machine_limit)} s",
                    times(machine_ratio),
                    machine_ratio is not None and machine_ratio <= row.case.factor,
                    f"the CPU work alone takes {seconds(row.cpu_bound)} s on {row.cpus} CPUs, above the "
                    f"{seconds(row.limit)} s limit: no client reaches the limit here",
                    informative=True,
                )
            )
        if row.added_ratio is not None:
            found.append(
                Target(
                    f"{name}, what the latency adds",
                    f"<= {row.case.factor:g}x the same limit",
                    times(row.added_ratio),
                    row.added_ratio <= row.case.factor,
                    f"task {seconds(row.measured)} s - {seconds(row.reference)} s at 0 ms = {seconds(row.added)} s",
                    informative=True,
                )
            )
    return found


def recommend_workers(rows: list[Row]) -> str | None:
    """Which max_workers values meet the latency target at every size, which is fastest at the largest size,
    and what each costs in CPU there (the variants with botocore's default connection pool)."""
    candidates: dict[int, list[Row]] = {}
    for row in rows:
        workers = getattr(row.variant, "max_workers", None)
        if (
            row.case.name == "latency"
            and not row.case.total
            and row.is_ours
            and workers
            and not getattr(row.variant, "pool", False)
        ):
            candidates.setdefault(workers, []).append(row)
    if not candidates:
        return None
    passing = sorted(workers for workers, group in candidates.items() if all(row.passed for row in group))
    biggest = max(row.users for group in candidates.values() for row in group)
    at_biggest = {
        workers: row for workers, group in candidates.items() for row in group if row.users == biggest and row.measured
    }
    costs = ", ".join(
        f"{workers}: {seconds(row.measured)} s task, {seconds(row.cpu)} s CPU"
        for workers, row in sorted(at_biggest.items())
    )
    sentence = (
        f"Values of max_workers meeting the latency target at every size: {', '.join(map(str, passing))}."
        if passing
        else "No max_workers value measured meets the latency target at every size."
    )
    fastest = min(at_biggest, key=lambda workers: at_biggest[workers].measured) if at_biggest else None
    if fastest is not None:
        sentence += f" Fastest at N = {biggest}: {fastest}."
    return f"{sentence} At N = {biggest} (max_workers: task, task CPU) {costs}."


def reading(rows: list[Row]) -> list[str]:
    lines = []
    for row in rows:
        if not row.is_ours or row.measured is None or row.case.name == "reference":
            continue
        sentence = (
            f"{row.case.title}, N = {row.users}, {row.variant.label}: task {row.measured:.2f} s against a limit "
            f"of {seconds(row.limit)} s ({times(row.limit_ratio)}), {row.calls} calls, {row.retries} retries, "
            f"{row.throttled} throttled"
        )
        if row.added is not None:
            sentence += f"; the latency added {row.added:.2f} s to the {seconds(row.reference)} s it takes at 0 ms"
        if row.floor_ratio is not None:
            sentence += f"; {times(row.floor_ratio)} the floor's wall time"
        if row.theirs_ratio is not None:
            sentence += f", {times(row.theirs_ratio)} amazon.aws's"
        lines.append(sentence + ".")
    recommendation = recommend_workers(rows)
    if recommendation:
        lines.append(recommendation)
    return lines


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------


def case_table(rows: list[Row]) -> str:
    header = [
        "N",
        "variant",
        "runs",
        "wall s",
        "task s",
        "task CPU s",
        "moto + proxy CPU s",
        "CPU bound s",
        "API calls",
        "retries",
        "throttled",
        "limit s",
        "task / limit",
        "ours / floor",
        "ours / amazon.aws",
    ]
    with_reference = any(row.reference is not None for row in rows)
    if with_reference:
        header[12:12] = ["task s at 0 ms", "added s", "added / limit"]
    body = []
    for row in rows:
        if row.measured is None and row.wall is None:
            failed = [str(row.users), row.variant.label, "0", "FAILED", (row.failure or "")[:80]]
            body.append(failed + [""] * (len(header) - len(failed)))
            continue
        runs = str(row.runs) + (f" (+{row.failures} failed)" if row.failures else "")
        wall = seconds(row.wall)
        calls = str(row.calls)
        if row.measured_users:
            wall = f"{wall} (est. from {row.measured_users} users)"
            calls += f" (for {row.measured_users} users)"
        measured = seconds(row.measured) + (" (whole)" if row.variant.script else "")
        body.append(
            [
                str(row.users),
                row.variant.label,
                runs,
                wall,
                measured,
                seconds(row.cpu),
                seconds(row.server_cpu),
                seconds(row.cpu_bound),
                calls,
                str(row.retries),
                str(row.throttled),
                seconds(row.limit),
                *([seconds(row.reference), seconds(row.added), times(row.added_ratio)] if with_reference else []),
                times(row.limit_ratio),
                times(row.floor_ratio),
                times(row.theirs_ratio),
            ]
        )
    return markdown_table(header, body)


def render(rows: list[Row], meta: dict[str, str], notes: list[str], caveats: list[str] = (), title: str = "") -> str:
    attach_references(rows)
    found = targets(rows)
    parts = [f"# {title or 'keyguard.aws under real IAM latency and rate limits'}", ""]
    parts += [f"- {name}: {value}" for name, value in meta.items()]
    parts += ["", "## Targets (issue 14, part 2)", "", targets_table(found), "", "## Reading", ""]
    parts += [f"- {line}" for line in [*caveats, *reading(rows)]]
    cases: list[Case] = []
    for row in rows:
        if row.case not in cases:
            cases.append(row.case)
    for case in cases:
        parts += ["", f"## {case.title}", "", case_table([row for row in rows if row.case == case])]
    parts += ["", "## How this is measured", ""]
    parts += [f"- {note}" for note in notes]
    return "\n".join(parts) + "\n"
