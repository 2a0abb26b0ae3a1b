# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark keyguard.aws against moto_server: wall time, API calls and peak memory per scenario.

    python benchmarks/run.py [--compare --ansible-venv .build/bench-venv] [--repeats N] [--only a,b]

``make bench`` runs keyguard.aws on both paths (in-process and module); ``make bench-compare`` adds
amazon.aws's modules where they have an equivalent and writes benchmarks/RESULTS.md. See
benchmarks/README.md for the scenarios, the variants and how the numbers are taken.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import REPO_ROOT, Measurement, PythonEnv, Runner, load_tool, make_args, stop_on_sigterm
from report import ScenarioResult, Target, check_targets, render, scenario_table, summarise, targets_table
from scenarios import (
    ACCOUNT_SIZES,
    FLOOR_SCRIPT,
    THEIR_LOOP_SIZE,
    Scenario,
    Variant,
    build_play,
    info_account,
    noop_task,
    small_scenarios,
)
from seed import Seeder

OUTPUT_DIR = REPO_ROOT / "benchmarks" / "output"
DEFAULT_REPEATS = 3
HEAVY_SECONDS = 30.0  # a variant whose run takes longer than this is repeated only --heavy-repeats times
NOTES = [
    "Each run is a fresh `ansible-playbook` process (or, for the floor, a fresh `python` process) on localhost, "
    "against moto_server on 127.0.0.1 behind the counting proxy of tests/tools/iam_proxy.py; each variant's "
    "runs are interleaved round by round with the other variants of its scenario (alternating order), so drift "
    "on a shared machine hits all of them alike.",
    "median / min-max: wall time of the whole process. task s: median minus the median of the same play with "
    "only its debug task (the baseline), i.e. what the measured task or loop adds to a playbook; a loop's "
    "per-item cost is its task cost divided by the number of items (the first item included).",
    "ratio: ours/amazon.aws task cost for the small scenarios, paired: one ratio per round from that round's runs "
    "(each variant's run minus the round's baseline run), and the median of those ratios; the targets show their "
    "range too. For whole-account reports ours/theirs whole wall times (amazon.aws's loop over users, the "
    "plain-boto3 floor script).",
    "API calls: IAM requests the proxy saw during the run (the run with the most calls, when they differ). "
    "peak RSS: ru_maxrss from wait4() of the run's process, i.e. the largest resident set of any process in its "
    "tree (the playbook process, its forked workers and the module processes they start), not their sum; the "
    "process is started from the small benchmarks/launch.py so that the runner's own size does not count.",
    "amazon.aws equivalents: a no-op needs `id` and `active: true` (its `state: present` without `id` creates a "
    "key on every run); deactivation needs the owner's `user_name`; it has no age-based rotation; its info "
    "module takes one user and returns no last use, so a whole-account report is a loop over the user names "
    "(given to it here; a real playbook would first list the users).",
    "The proxy (tests/tools/iam_proxy.py) sets TCP_NODELAY on its sockets: it writes a reply's headers and body "
    "in two sends, so without it Nagle's algorithm and the client's delayed ACK add ~40 ms to every call on a "
    "kept-alive connection.",
    "Seeding goes to moto directly with boto3 on a thread pool; each user's two keys are created a day apart on "
    "moto's clock (so the credential report can tell them apart, as it can in a real account) and one of them is "
    "used, i.e. one IAM call is signed with it. The rotation scenario moves moto's clock 91 days before each run.",
    "Two more benchmarks write results beside this file: `make bench-latency` (the whole-account report under real "
    "IAM's latency and rate limit, issue 14) writes RESULTS-latency.md, and `make bench-org` (the audit across an "
    "AWS Organization, issue 13) writes RESULTS-org.md.",
]


@dataclasses.dataclass
class Context:
    args: argparse.Namespace
    moto: Any
    proxy: Any
    seeder: Seeder
    runner: Runner
    account_users: list[str] = dataclasses.field(default_factory=list)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--compare", action="store_true", help="add amazon.aws's modules (needs them in the venv)")
    parser.add_argument(
        "--ansible-venv",
        type=Path,
        default=Path(sys.prefix),
        help="virtualenv whose ansible-playbook and python run the measured playbooks (default: this one)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=int(os.environ.get("BENCH_REPEATS", DEFAULT_REPEATS)),
        help="runs of each variant (env BENCH_REPEATS; default %(default)s)",
    )
    parser.add_argument(
        "--heavy-repeats",
        type=int,
        default=int(os.environ.get("BENCH_HEAVY_REPEATS", 1)),
        help=f"runs of a variant whose first run took over {HEAVY_SECONDS:g} s (env BENCH_HEAVY_REPEATS)",
    )
    parser.add_argument(
        "--sizes",
        default=os.environ.get("BENCH_SIZES"),
        help="whole-account sizes, comma-separated (env BENCH_SIZES; default "
        f"{','.join(str(size) for size in ACCOUNT_SIZES)}, plus {THEIR_LOOP_SIZE} with --compare)",
    )
    parser.add_argument(
        "--their-loop-users",
        type=int,
        default=int(os.environ.get("BENCH_THEIR_LOOP_USERS", THEIR_LOOP_SIZE)),
        help=f"users amazon.aws's whole-account loop covers at N = {THEIR_LOOP_SIZE}; fewer are extrapolated "
        "(env BENCH_THEIR_LOOP_USERS; default %(default)s)",
    )
    parser.add_argument("--only", default="", help="comma-separated scenario names (prefixes) to run")
    parser.add_argument("--write-results", type=Path, help="write the Markdown report here (RESULTS.md)")
    parser.add_argument("--keep-workdirs", action="store_true", help="keep every run's playbook and output")
    args = parser.parse_args(argv)
    if args.sizes is None:
        sizes = set(ACCOUNT_SIZES) | ({THEIR_LOOP_SIZE} if args.compare else set())
    else:
        sizes = {int(size) for size in args.sizes.split(",") if size.strip()}
    args.sizes = sorted(sizes)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    if args.repeats < 1 or args.heavy_repeats < 1 or args.their_loop_users < 1:
        parser.error("--repeats, --heavy-repeats and --their-loop-users must be at least 1")
    return args


def selected(args: argparse.Namespace, name: str) -> bool:
    return not args.only or any(name.startswith(prefix) for prefix in args.only)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------


def measure(ctx: Context, scenario: Scenario, variant: Variant, run_vars: dict[str, Any]) -> Measurement:
    name = f"{scenario.name}-{variant.key}"
    if variant.script:
        measurement = ctx.runner.script(name, FLOOR_SCRIPT, [ctx.proxy.url, *variant.script_args])
    else:
        measurement = ctx.runner.playbook(name, build_play(variant, run_vars, ctx.proxy.url), run_vars)
    if measurement.error is None and variant.check is not None:
        problem = variant.check(measurement, run_vars)
        if problem:
            measurement.error = f"{problem} (workdir {measurement.workdir})"
    if measurement.error is not None:
        ctx.runner.keep_workdirs = True  # keep the evidence of a failed run
    ctx.runner.cleanup(measurement)
    ctx.runner.keep_workdirs = ctx.args.keep_workdirs
    return measurement


def run_scenario(ctx: Context, scenario: Scenario) -> dict[str, list[Measurement]]:
    log(f"== {scenario.name}: {scenario.title}")
    run_vars = scenario.prepare(ctx) if scenario.prepare else {}
    runs: dict[str, list[Measurement]] = {variant.key: [] for variant in scenario.variants}
    rounds = max(ctx.args.repeats, scenario.min_repeats)
    limits = {variant.key: rounds for variant in scenario.variants}
    for round_index in range(rounds):
        order = scenario.variants if round_index % 2 == 0 else list(reversed(scenario.variants))
        for variant in order:
            if len(runs[variant.key]) >= limits[variant.key]:
                continue
            this_run = run_vars
            if scenario.before_run and (variant.tasks is not None or variant.script):  # not for the baseline play
                this_run = scenario.before_run(ctx, run_vars, variant, round_index)
            measurement = measure(ctx, scenario, variant, this_run)
            measurement.round_index = round_index
            runs[variant.key].append(measurement)
            calls = sum(measurement.calls.values())
            status = "ok" if measurement.error is None else "FAILED"
            log(
                f"   {variant.label:<40} {measurement.wall:8.2f} s {measurement.cpu:7.2f} s CPU "
                f"{calls:6d} calls  {status}"
            )
            if measurement.error is not None:
                log("      " + measurement.error.replace("\n", "\n      ")[:3000])
                limits[variant.key] = len(runs[variant.key])  # do not repeat a broken variant
            elif measurement.wall > HEAVY_SECONDS:
                limits[variant.key] = min(limits[variant.key], ctx.args.heavy_repeats)
    return runs


def grow_account(ctx: Context, users: int) -> None:
    """Add users until the account has ``users``, each with two keys a day apart, one of them used."""
    start = len(ctx.account_users)
    if users <= start:
        return
    began = time.monotonic()
    names = [f"svc-{index:05d}" for index in range(start, users)]
    ctx.seeder.create_users(names)
    first = ctx.seeder.create_keys(names)
    ctx.moto.advance(days=1)
    second = ctx.seeder.create_keys(names)
    used = [first[offset] if (start + offset) % 2 == 0 else second[offset] for offset in range(len(names))]
    ctx.seeder.use_keys(used)
    ctx.seeder.iam.generate_credential_report()  # as in an account whose report is recent: no run waits for it
    ctx.account_users.extend(names)
    log(f"   seeded {len(names)} users, {2 * len(names)} keys ({len(used)} used) in {time.monotonic() - began:.1f} s")


def check_paths(ctx: Context) -> None:
    """One verbose run of each keyguard.aws path: the fast path must start no module process, the other must."""
    ctx.seeder.user_with_keys("bench-path-check")
    marker = "AnsiballZ_iam_access_key.py"  # -vvv shows the module file being transferred and run
    for variant in noop_task(compare=False).variants:
        if variant.key not in ("in-process", "module"):
            continue
        plays = build_play(variant, {"user": "bench-path-check"}, ctx.proxy.url)
        measurement = ctx.runner.playbook(f"path-check-{variant.key}", plays, extra_args=["-vvv"])
        stdout = (measurement.workdir / "stdout.txt").read_text(encoding="utf-8", errors="replace")
        if measurement.error or (marker in stdout) != (variant.key == "module"):
            reason = measurement.error or ("a module process ran" if variant.key == "in-process" else "no module ran")
            raise SystemExit(f"path check failed for {variant.key}: {reason}; see {measurement.workdir}")
        shutil.rmtree(measurement.workdir, ignore_errors=True)
    log("   path check: the in-process variant starts no module process, the module variant does")


def run_all(ctx: Context) -> dict[str, ScenarioResult]:
    args = ctx.args
    results: dict[str, ScenarioResult] = {}
    baseline: tuple[float, float] | None = None

    def record(scenario: Scenario, runs: dict[str, list[Measurement]]) -> None:
        nonlocal baseline
        result = summarise(scenario, runs, baseline)
        own = result.get(scenario.baseline_key) if scenario.baseline_key else None
        if baseline is None and own is not None:
            baseline = (own.median, own.cpu)
        results[scenario.name] = result
        print(scenario_table(result) + "\n", flush=True)

    ctx.moto.reset()
    check_paths(ctx)
    small = [scenario for scenario in small_scenarios(args.compare) if selected(args, scenario.name)]
    accounts = [
        info_account(users, args.compare, args.their_loop_users)
        for users in args.sizes
        if selected(args, f"info-account-{users}")
    ]
    for scenario in small:
        record(scenario, run_scenario(ctx, scenario))
    if accounts:
        ctx.moto.reset()
        for scenario in accounts:
            log(f"== seeding the account to N = {scenario.account_size}")
            grow_account(ctx, scenario.account_size)
            users = ctx.account_users
            loop_users = users[: args.their_loop_users]
            scenario.prepare = lambda _ctx, users=users, loop_users=loop_users: {
                "expected_keys": 2 * len(users),
                "loop_users": loop_users,
            }
            record(scenario, run_scenario(ctx, scenario))
    return results


# ---------------------------------------------------------------------------------------------
# Machine and versions
# ---------------------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def git_revision() -> str:
    completed = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True, check=False
    )
    return completed.stdout.strip() or "unknown"


def load_caveat(load_at_start: tuple[float, float, float]) -> list[str]:
    """A warning for the reader when other work was competing for the CPUs when the run started."""
    cpus = len(os.sched_getaffinity(0))
    if max(load_at_start[:2]) <= 1.0:
        return []
    return [
        f"The machine was busy with other work (load average {load_at_start[0]:.1f} over 1 minute and "
        f"{load_at_start[1]:.1f} over 5 minutes when the run started, on {cpus} CPUs, before any of it): wall "
        "times are inflated and noisy, most of all for variants that wait on moto; the CPU-time ratios printed "
        "beside the wall-time ones are steadier."
    ]


def machine_description(load_at_start: tuple[float, float, float]) -> str:
    """The "machine" line of a benchmark report: CPUs, memory, kernel and the load when the run started."""
    return (
        f"{len(os.sched_getaffinity(0))} CPUs ({cpu_model()}), {memory_total()} memory, {platform.system()} "
        f"{platform.release()}, load average at start {', '.join(f'{x:.2f}' for x in load_at_start)}"
    )


def rerun_command(target: str, variable: str, argv: list[str]) -> str:
    """The make command that repeats a run: the target, and the caller's own options in its *_ARGS variable."""
    extra = make_args(argv)
    return f'make {target} {variable}="{" ".join(extra)}"' if extra else f"make {target}"


def metadata(
    args: argparse.Namespace,
    env: PythonEnv,
    started: datetime.datetime,
    elapsed: float,
    load_at_start: tuple[float, float, float],
) -> dict[str, str]:
    import botocore
    import moto

    meta = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_description(load_at_start),
        "versions": (
            f"Python {env.query('import platform; print(platform.python_version())')}, "
            f"ansible-core {env.version_of('ansible-core')}, botocore {env.version_of('botocore')}, "
            f"boto3 {env.version_of('boto3')}, moto {moto.__version__} (server; botocore {botocore.__version__} "
            f"for seeding)"
        ),
        "keyguard.aws": f"checkout {git_revision()}",
        "settings": f"{args.repeats} runs a variant ({args.heavy_repeats} when a run takes over {HEAVY_SECONDS:g} s), "
        f"whole-account sizes {', '.join(str(size) for size in args.sizes)}",
        "command": "make bench-compare" if args.compare else "make bench",
        "duration": f"{elapsed / 60:.1f} min",
    }
    if args.compare:
        meta["versions"] += (
            f", amazon.aws {env.collection_version('amazon', 'aws')} "
            f"(from the ansible {env.version_of('ansible')} package, in {args.ansible_venv})"
        )
    return meta


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    env = PythonEnv.from_argument(args.ansible_venv)
    if not (env.bin_dir / "ansible-playbook").exists():
        raise SystemExit(f"no ansible-playbook in {env.bin_dir}; run `make venv` (or `make bench-venv`)")
    extra_collections: list[Path] = []
    if args.compare:
        if env.collection_version("amazon", "aws") == "not installed":
            raise SystemExit(f"amazon.aws is not installed in {env.root}; run `make bench-venv`")
        extra_collections.append(env.purelib())

    started = datetime.datetime.now(datetime.timezone.utc)
    began = time.monotonic()
    load_at_start = os.getloadavg()
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    moto_control = load_tool("moto_control")
    iam_proxy = load_tool("iam_proxy")
    workroot = Path(tempfile.mkdtemp(prefix="run-", dir=OUTPUT_DIR))
    moto = moto_control.start_moto_server(workroot / "moto")
    proxy = iam_proxy.IamProxy(moto.url)
    proxy.start()
    try:
        runner = Runner(env, workroot, proxy.url, proxy, extra_collections)
        runner.keep_workdirs = args.keep_workdirs
        ctx = Context(args, moto, proxy, Seeder(moto.url), runner)
        log(f"moto_server {moto.url}, proxy {proxy.url}, ansible from {env.root}")
        results = run_all(ctx)
    finally:
        proxy.stop()
        moto.stop()
    elapsed = time.monotonic() - began

    targets: list[Target] = check_targets(results)
    print("## Targets (issue 6)\n\n" + targets_table(targets) + "\n", flush=True)
    for target in targets:
        print(f"{target.verdict:4} {target.name}: {target.measured} (limit {target.limit})")
    meta = metadata(args, env, started, elapsed, load_at_start)
    title = "keyguard.aws benchmarks" + (" against amazon.aws" if args.compare else "")
    markdown = render(results, targets, meta, title, NOTES, load_caveat(load_at_start))
    latest = OUTPUT_DIR / ("compare.md" if args.compare else "bench.md")
    latest.write_text(markdown, encoding="utf-8")
    (OUTPUT_DIR / (latest.stem + ".json")).write_text(
        json.dumps(
            {
                "meta": meta,
                "targets": [dataclasses.asdict(target) for target in targets],
                "runs": {
                    name: {
                        key: [
                            {
                                "wall": run.wall,
                                "cpu": run.cpu,
                                "peak_rss_kib": run.peak_rss_kib,
                                "calls": dict(run.calls),
                                "error": run.error,
                            }
                            for run in summary.runs + summary.failures
                        ]
                        for key, summary in result.summaries.items()
                    }
                    for name, result in results.items()
                },
            },
            indent=1,
            default=str,
        ),
        encoding="utf-8",
    )
    if args.write_results:
        args.write_results.write_text(markdown, encoding="utf-8")
        log(f"wrote {args.write_results}")
    log(f"wrote {latest}; {elapsed / 60:.1f} min")
    failed = [
        f"{name}/{key}"
        for name, result in results.items()
        for key, summary in result.summaries.items()
        if summary.failures
    ]
    if not args.keep_workdirs and not any(workroot.glob("*-*")):
        shutil.rmtree(workroot, ignore_errors=True)
    if failed:
        log(f"runs failed (see their workdirs under {workroot}): {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
