# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The whole-account report under real IAM's latency and rate limit (issue 14, part 2).

    python benchmarks/latency.py --ansible-venv .build/bench-venv [--sizes 400,1600] [--workers 8,16,32]

``make bench-latency`` runs it and writes benchmarks/RESULTS-latency.md. The proxy of the other
benchmarks (tests/tools/iam_proxy.py) adds a fixed latency to every call (case a), or answers
``Throttling`` beyond a token bucket (case b). keyguard.aws's report runs at several ``max_workers``
values in (a) and with botocore's retry modes in (b); the plain-boto3 floor and amazon.aws's loop
over users run in the same account behind the same proxy. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import REPO_ROOT, PythonEnv, Runner, load_tool, stop_on_sigterm
from latency_report import BenchVariant, Case, build_rows, render, targets
from report import summarise, targets_table
from run import (
    Context,
    git_revision,
    grow_account,
    load_caveat,
    log,
    machine_description,
    rerun_command,
    run_scenario,
)
from scenarios import DEBUG_VARIANT, Scenario, expect_floor_keys, expect_keys, theirs
from seed import Seeder

OUTPUT_DIR = REPO_ROOT / "benchmarks" / "output"
DEFAULT_SIZES = (400, 1600)
DEFAULT_WORKERS = (4, 8, 10, 12, 16, 32, 64)
MODULE = "keyguard.aws.iam_access_key_info"
POOL_CONNECTIONS = 10  # botocore's default max_pool_connections
CASE_NAMES = ("reference", "latency", "latency-total", "bucket")
NOTES = [
    "Each run is a fresh `ansible-playbook` (or `python`, for the floor) process on localhost against moto_server "
    "on 127.0.0.1 behind tests/tools/iam_proxy.py, as in benchmarks/RESULTS.md; every variant, ours included, runs "
    "with the bench venv's ansible-playbook and Python. Variants of one case and size run interleaved, round by "
    "round; a run that takes over 30 s runs once.",
    "(a): the proxy sleeps the given latency in each connection's handler thread before answering, so "
    "concurrent calls overlap as they do against a real endpoint; moto's own time (and the proxy's) comes on top. "
    "(a), moto's time included: the proxy forwards at once and answers no sooner than the latency after the "
    "request arrived, as a real endpoint's latency includes its server time; only our variants run in it. "
    "(b): one token bucket for all connections "
    "(IAM throttles an account's callers as a whole) refilled before each run; a call beyond it gets HTTP 400 "
    '`Throttling` "Rate exceeded" in IAM\'s XML and is not forwarded.',
    "task s: the run's wall time minus the median of the same play with only its debug task; the limits and the "
    "targets are checked on it (the floor: its whole wall time). ours / floor and ours / amazon.aws: whole wall "
    "times, as in RESULTS.md. amazon.aws's loop covers the first M users of the account and is extrapolated to "
    "N (task cost x N / M), labelled `est.`; its calls are those of the M users.",
    "API calls: requests the proxy answered (the run with the most). retries: requests beyond the SDK's own "
    "calls (the attempts of one botocore call share an `amz-sdk-invocation-id`). throttled: requests answered "
    "`Throttling`. The (b) limit is the SDK's own calls / rate.",
    "(0), the reference: the variants of (a) with nothing added, just before (a) at each size. On a 2-CPU "
    "machine that runs the playbook, moto and the proxy, the report is partly CPU-bound even at 0 ms; *added s* "
    "(task s in (a) minus task s in (0)) is what the latency itself cost, and is set against the same limit "
    "(informative, `info`).",
    "task CPU s: user + system CPU of the playbook's process tree minus the baseline play's. moto + proxy CPU s: "
    "what moto_server and the proxy (the benchmark process) used in the same run, on the same CPUs. CPU bound s: "
    "the sum over the CPU count, under which no run can finish on this machine: where it is above the (a) limit, "
    "an informative target sets the task against it instead (real IAM's server time is not on the controller's "
    "CPUs; moto's is here).",
    "keyguard.aws runs in-process (the default for a local connection). `max_pool_connections` (botocore's "
    f"default is {POOL_CONNECTIONS}) is left alone unless a variant says `pool`; with more threads than pooled "
    "connections, urllib3 opens a new connection for the calls beyond the pool and discards it afterwards.",
]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])

    def numbers(text: str, kind: type = int) -> list[Any]:
        return [kind(value) for value in text.split(",") if value.strip()]

    parser.add_argument("--ansible-venv", type=Path, default=Path(sys.prefix), help="venv running the playbooks")
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", ",".join(map(str, DEFAULT_SIZES))))
    parser.add_argument(
        "--cases",
        default=",".join(CASE_NAMES),
        help="reference (the (a) variants with nothing added), latency, latency-total (the latency includes "
        "moto's time), bucket (default: all four)",
    )
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to each call in (a)")
    parser.add_argument("--workers", default=",".join(map(str, DEFAULT_WORKERS)), help="max_workers values in (a)")
    parser.add_argument(
        "--no-pool",
        dest="pool",
        action="store_false",
        help=f"skip the variants with aws_config.max_pool_connections = max_workers (for max_workers > "
        f"{POOL_CONNECTIONS})",
    )
    parser.add_argument("--rate", type=float, default=20.0, help="calls a second the bucket refills in (b)")
    parser.add_argument("--burst", type=int, default=20, help="the bucket's size in (b)")
    parser.add_argument("--retry-modes", default="standard,adaptive", help="botocore retry modes in (b)")
    parser.add_argument("--total-max-attempts", type=int, default=10, help="botocore attempts a call in (b)")
    parser.add_argument(
        "--max-calls-per-second",
        type=int,
        default=None,
        help="add a (b) variant with the module's max_calls_per_second option (default: the bucket's rate, when "
        f"`ansible-doc {MODULE}` lists the option; 0: never)",
    )
    parser.add_argument(
        "--their-loop-users",
        type=int,
        default=int(os.environ.get("BENCH_THEIR_LOOP_USERS", 40)),
        help="users amazon.aws's loop covers; extrapolated to N (env BENCH_THEIR_LOOP_USERS; default %(default)s)",
    )
    parser.add_argument("--no-theirs", action="store_true", help="skip amazon.aws's loop and the floor")
    parser.add_argument("--repeats", type=int, default=int(os.environ.get("BENCH_REPEATS", 2)))
    parser.add_argument("--heavy-repeats", type=int, default=int(os.environ.get("BENCH_HEAVY_REPEATS", 1)))
    parser.add_argument("--write-results", type=Path, help="write the Markdown report here")
    parser.add_argument("--keep-workdirs", action="store_true")
    args = parser.parse_args(argv)
    args.sizes = sorted(set(numbers(args.sizes)))
    args.workers = numbers(args.workers)
    args.cases = [name.strip() for name in args.cases.split(",") if name.strip()]
    args.retry_modes = [mode.strip() for mode in args.retry_modes.split(",") if mode.strip()]
    if set(args.cases) - set(CASE_NAMES) or not args.cases:
        parser.error(f"--cases takes {', '.join(CASE_NAMES)}")
    args.cases = [name for name in CASE_NAMES if name in args.cases]  # the reference first
    if (
        not args.sizes
        or min(args.sizes) < 1
        or not args.workers
        or not 1 <= min(args.workers) <= max(args.workers) <= 64
    ):
        parser.error("--sizes must be positive, --workers between 1 and 64")
    if args.repeats < 1 or args.heavy_repeats < 1 or args.their_loop_users < 1:
        parser.error("--repeats, --heavy-repeats and --their-loop-users must be at least 1")
    return args


def module_options(env: PythonEnv, runner: Runner) -> set[str]:
    """The options ``ansible-doc`` lists for the info module, with this venv and collections path."""
    workdir = Path(tempfile.mkdtemp(prefix="ansible-doc-", dir=runner.workroot))
    try:
        completed = subprocess.run(
            [str(env.bin_dir / "ansible-doc"), "--json", MODULE],
            env=runner.environment(workdir),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return set(json.loads(completed.stdout)[MODULE]["doc"]["options"])
    except (ValueError, KeyError, subprocess.SubprocessError):
        return set()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Variants
# ---------------------------------------------------------------------------------------------


def ours(key: str, label: str, options: dict[str, Any], **settings: Any) -> BenchVariant:
    task = {"name": "whole-account info", MODULE: options}
    return BenchVariant(
        f"in-process-{key}",
        f"keyguard.aws {label}",
        lambda run_vars: [dict(task)],
        collection="keyguard",
        in_process=True,
        check=expect_keys(lambda run_vars: run_vars["expected_keys"]),
        **settings,
    )


def floor(key: str, label: str, mode: str, attempts: int) -> BenchVariant:
    return BenchVariant(
        key, label, script=True, check=expect_floor_keys, script_args=(mode, str(attempts)), retry_mode=mode
    )


def their_loop(users: int, measured: int) -> Any:
    loop = theirs(
        lambda run_vars: {"name": "info per user", "amazon.aws.iam_access_key_info": {"user_name": "{{ item }}"}},
        expect_keys(lambda run_vars: 2 * len(run_vars["loop_users"]), items=measured),
        loop="loop_users",
    )
    loop.label = "amazon.aws loop over users" + (f" (first {measured})" if measured < users else "")
    loop.extrapolated_from = measured if measured < users else None
    return loop


def latency_variants(args: argparse.Namespace, users: int, compare: bool) -> list[Any]:
    variants: list[Any] = [DEBUG_VARIANT]
    for workers in args.workers:
        variants.append(ours(f"w{workers}", f"max_workers {workers}", {"max_workers": workers}, max_workers=workers))
        if args.pool and workers > POOL_CONNECTIONS:
            options = {"max_workers": workers, "aws_config": {"max_pool_connections": workers}}
            variants.append(
                ours(
                    f"w{workers}-pool",
                    f"max_workers {workers}, pool {workers}",
                    options,
                    max_workers=workers,
                    pool=True,
                )
            )
    if compare:
        variants.append(floor("floor", "plain boto3 floor", "standard", args.total_max_attempts))
        variants.append(their_loop(users, min(args.their_loop_users, users)))
    return variants


def bucket_variants(args: argparse.Namespace, users: int, compare: bool, cap: int | None) -> list[Any]:
    variants: list[Any] = [DEBUG_VARIANT]
    for mode in args.retry_modes:
        options = {"aws_config": {"retries": {"mode": mode, "total_max_attempts": args.total_max_attempts}}}
        variants.append(ours(mode, f"{mode} retries", options, retry_mode=mode))
    if cap:
        variants.append(
            ours(f"cap{cap}", f"max_calls_per_second {cap}", {"max_calls_per_second": cap}, max_calls_per_second=cap)
        )
    if compare:
        for mode in args.retry_modes:
            variants.append(floor(f"floor-{mode}", f"plain boto3 floor, {mode} retries", mode, args.total_max_attempts))
        variants.append(their_loop(users, min(args.their_loop_users, users)))
    return variants


def scenario_for(case: Case, users: int, variants: list[Any], loop_users: list[str]) -> Scenario:
    def before_run(ctx: Any, run_vars: dict[str, Any], variant: Any, round_index: int) -> dict[str, Any]:
        ctx.proxy.set_latency(case.latency, includes_server_time=case.total)
        ctx.proxy.set_rate_limit(case.rate, case.burst)  # a full bucket for every run
        return run_vars

    return Scenario(
        f"{case.name}-{users}",
        f"{case.title}, N = {users}",
        "",
        variants,
        prepare=lambda ctx: {"expected_keys": 2 * users, "loop_users": loop_users},
        before_run=before_run,
        account_size=users,
    )


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def metadata(args: argparse.Namespace, env: PythonEnv, started: datetime.datetime, elapsed: float, load) -> dict:
    import botocore
    import moto

    versions = (
        f"Python {env.query('import platform; print(platform.python_version())')}, "
        f"ansible-core {env.version_of('ansible-core')}, botocore {env.version_of('botocore')}, "
        f"boto3 {env.version_of('boto3')}, moto {moto.__version__} (server; botocore {botocore.__version__} for "
        "seeding)"
    )
    amazon = env.collection_version("amazon", "aws")
    if amazon != "not installed":
        versions += (
            f", amazon.aws {amazon} (from the ansible {env.version_of('ansible')} package, in {args.ansible_venv})"
        )
    command = rerun_command("bench-latency", "BENCH_LATENCY_ARGS", args.argv)
    return {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_description(load),
        "versions": versions,
        "keyguard.aws": f"checkout {git_revision()}",
        "settings": f"sizes {', '.join(map(str, args.sizes))}; cases {', '.join(args.cases)}; (a) "
        f"{args.latency * 1000:g} ms a call (added; and, in latency-total, moto's time included), max_workers "
        f"{', '.join(map(str, args.workers))}; (b) {args.rate:g} calls/s, burst {args.burst}, retry modes "
        f"{', '.join(args.retry_modes)} with total_max_attempts {args.total_max_attempts}; runs a variant: "
        f"{args.repeats} ({args.heavy_repeats} when a run takes over 30 s); amazon.aws's loop over the first "
        f"{args.their_loop_users} users, extrapolated",
        "command": command,
        "duration": f"{elapsed / 60:.1f} min",
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    args.keep_workdirs = bool(args.keep_workdirs)
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    env = PythonEnv.from_argument(args.ansible_venv)
    if not (env.bin_dir / "ansible-playbook").exists():
        raise SystemExit(f"no ansible-playbook in {env.bin_dir}; run `make bench-venv`")
    compare = not args.no_theirs
    extra_collections: list[Path] = []
    if compare:
        if env.collection_version("amazon", "aws") == "not installed":
            raise SystemExit(f"amazon.aws is not installed in {env.root}; run `make bench-venv` (or pass --no-theirs)")
        extra_collections.append(env.purelib())

    started = datetime.datetime.now(datetime.timezone.utc)
    began = time.monotonic()
    load_at_start = os.getloadavg()
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    moto_control, iam_proxy = load_tool("moto_control"), load_tool("iam_proxy")
    workroot = Path(tempfile.mkdtemp(prefix="latency-", dir=OUTPUT_DIR))
    moto = moto_control.start_moto_server(workroot / "moto")
    proxy = iam_proxy.IamProxy(moto.url)
    proxy.start()
    cases = {
        "reference": Case("reference"),
        "latency": Case("latency", latency=args.latency),
        "latency-total": Case("latency", latency=args.latency, total=True),
        "bucket": Case("bucket", rate=args.rate, burst=args.burst),
    }
    rows = []
    raw: dict[str, Any] = {}
    try:
        runner = Runner(env, workroot, proxy.url, proxy, extra_collections)
        runner.server_pid = moto.pid
        runner.keep_workdirs = args.keep_workdirs
        ctx = Context(args, moto, proxy, Seeder(moto.url), runner)
        cap = args.max_calls_per_second
        if cap is None:
            cap = round(args.rate) if "max_calls_per_second" in module_options(env, runner) else 0
            log(f"   {MODULE} {'has' if cap else 'has no'} option max_calls_per_second")
        log(f"moto_server {moto.url}, proxy {proxy.url}, ansible from {env.root}")
        moto.reset()
        for users in args.sizes:
            log(f"== seeding the account to N = {users}")
            grow_account(ctx, users)
            loop_users = ctx.account_users[: args.their_loop_users]
            for name in args.cases:
                case = cases[name]
                if name != "bucket":
                    variants = latency_variants(args, users, compare and name == "latency")
                else:
                    variants = bucket_variants(args, users, compare, cap)
                scenario = scenario_for(case, users, variants, loop_users)
                try:
                    runs = run_scenario(ctx, scenario)
                finally:
                    proxy.set_latency(0)
                    proxy.clear_rate_limit()
                result = summarise(scenario, runs, None)
                rows += build_rows(case, result, len(os.sched_getaffinity(0)))
                raw[scenario.name] = {
                    key: [
                        {
                            "wall": run.wall,
                            "cpu": run.cpu,
                            "calls": dict(run.calls),
                            "logical_calls": run.logical_calls,
                            "throttled": run.throttled,
                            "error": run.error,
                        }
                        for run in summary.runs + summary.failures
                    ]
                    for key, summary in result.summaries.items()
                }
    finally:
        proxy.stop()
        moto.stop()
    elapsed = time.monotonic() - began

    found = targets(rows)
    print("## Targets (issue 14, part 2)\n\n" + targets_table(found) + "\n", flush=True)
    meta = metadata(args, env, started, elapsed, load_at_start)
    markdown = render(rows, meta, NOTES, load_caveat(load_at_start))
    latest = OUTPUT_DIR / "latency.md"
    latest.write_text(markdown, encoding="utf-8")
    (OUTPUT_DIR / "latency.json").write_text(json.dumps({"meta": meta, "runs": raw}, indent=1), encoding="utf-8")
    print(markdown, flush=True)
    if args.write_results:
        args.write_results.write_text(markdown, encoding="utf-8")
        log(f"wrote {args.write_results}")
    log(f"wrote {latest}; {elapsed / 60:.1f} min")
    failed = [f"{row.case.name}-{row.users}/{row.variant.key}" for row in rows if row.failures]
    if not args.keep_workdirs and not any(workroot.glob("*-*")):
        shutil.rmtree(workroot, ignore_errors=True)
    if failed:
        log(f"runs failed (see their workdirs under {workroot}): {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
