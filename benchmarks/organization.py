# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The organization audit across accounts under real IAM latency (issue 13): what Ansible's forks buy.

    python benchmarks/organization.py [--accounts 20,40] [--users 100,200] [--forks 1,5,10] [--latency 0.05]

``make bench-org`` runs it and writes benchmarks/RESULTS-org.md. One moto_server holds an AWS Organization whose
member accounts each have U users with two keys; playbooks/audit_organization.yml, as shipped, audits A of them
through the keyguard.aws.aws_accounts inventory, with each --forks value, behind tests/tools/iam_proxy.py adding
the latency to every call (Organizations, STS and IAM alike). The plain-boto3 peer (benchmarks/floor_org.py) walks
the same accounts one after the other behind the same proxy. The first --accounts and --users values are the base
layout, on which the forks target is checked; each further value grows one of them, so the report shows how the
time grows with accounts and with users. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import datetime
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import yaml
from harness import (
    DUMMY_ACCESS_KEY,
    DUMMY_SECRET_KEY,
    REGION,
    REPO_ROOT,
    PythonEnv,
    Runner,
    ansible_env,
    load_tool,
    stop_on_sigterm,
)
from report import Target, markdown_table, seconds, targets_table, times
from run import git_revision, load_caveat, log, machine_description, rerun_command

OUTPUT_DIR = REPO_ROOT / "benchmarks" / "output"
PLAYBOOK = REPO_ROOT / "playbooks" / "audit_organization.yml"
TIMING_CALLBACK_DIR = REPO_ROOT / "benchmarks" / "callback_plugins"
FLOOR_SCRIPT = Path(__file__).resolve().parent / "floor_org.py"
ROLE = "OrganizationAccountAccessRole"
KEYS_PER_USER = 2  # what OrganizationSeeder.seed_account makes: a first key, and a day later a second
USED_EVERY = 4  # the first key of every 4th user has been used, so reports carry some last-use dates
FORKS_TARGET = 4.0  # issue 13: forks 10 at least 4x faster than forks 1
NOTES = [
    "Each run is one `ansible-playbook -i org.aws_accounts.yml playbooks/audit_organization.yml --forks F` process "
    "on this machine against moto_server on 127.0.0.1 behind tests/tools/iam_proxy.py, which sleeps the latency in "
    "each connection's handler thread before forwarding a call (so concurrent calls overlap, as against a real "
    "endpoint). The inventory plugin's Organizations calls, each account's sts:AssumeRole and its IAM calls all pay "
    "it. A run counts only when it exits 0 and its report.json lists every account audited and every key.",
    "Forks values of one layout run interleaved, round by round (the order rotates each round); the figures are "
    "medians over the rounds. speed-up: the layout's forks-1 median wall time over this row's.",
    "playbook CPU s: user + system CPU of the ansible-playbook process tree (its forked workers included); moto + "
    "proxy CPU s: the moto_server process's and the benchmark process's, which runs only the proxy while a playbook "
    "runs. All three share the machine's CPUs: *CPU bound s* is their sum over the CPU count, a floor under the "
    "wall time that no forks value can beat on this machine. Real IAM's server time is not on the controller's "
    "CPUs; moto's and the proxy's are here.",
    "IAM calls per account: the run's IAM calls (without the inventory's Organizations calls and the "
    "sts:AssumeRole calls) over the accounts.",
    "The plain-boto3 peer, benchmarks/floor_org.py: one process, for each account sts:AssumeRole then ListUsers, "
    "ListAccessKeys per user and GetAccessKeyLastUsed per key, one call at a time (no threads), as a script "
    "written without concurrency in mind would; it runs once, on the base layout.",
]


@dataclasses.dataclass(frozen=True)
class Layout:
    accounts: int
    users: int

    @property
    def label(self) -> str:
        return f"{self.accounts} accounts x {self.users} users"


@dataclasses.dataclass
class OrgRun:
    layout: Layout
    forks: int | None  # None: the plain-boto3 peer
    max_workers: int | None  # None: the module's default
    wall: float
    playbook_cpu: float  # the measured process tree's
    server_cpu: float  # moto_server's and the proxy's
    calls: dict[str, int]
    error: str | None = None

    @property
    def iam_calls(self) -> int:
        return sum(count for action, count in self.calls.items() if action not in NON_IAM_ACTIONS)

    @property
    def cpu_total(self) -> float:
        return self.playbook_cpu + self.server_cpu


NON_IAM_ACTIONS = frozenset(
    {"AssumeRole", "ListRoots", "ListAccounts", "ListAccountsForParent", "ListOrganizationalUnitsForParent"}
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])

    def numbers(text: str) -> list[int]:
        return [int(value) for value in text.split(",") if value.strip()]

    parser.add_argument("--ansible-venv", type=Path, default=Path(sys.prefix), help="venv running the playbooks")
    parser.add_argument("--accounts", default="20,40", help="account counts; the first is the base layout's")
    parser.add_argument("--users", default="100,200", help="users an account; the first is the base layout's")
    parser.add_argument("--forks", default="1,5,10", help="--forks values (1 is always run: the speed-ups' base)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to each call")
    parser.add_argument(
        "--sequential-workers",
        type=int,
        default=1,
        help="also run the base layout with audit_max_workers N (default 1: one IAM call at a time in an account, "
        "so latency, not CPU, is most of an account's time); 0: skip",
    )
    parser.add_argument("--repeats", type=int, default=2, help="rounds on the base layout")
    parser.add_argument("--growth-repeats", type=int, default=1, help="rounds on each grown layout")
    parser.add_argument("--no-floor", action="store_true", help="skip the plain-boto3 peer")
    parser.add_argument("--write-results", type=Path, help="write the Markdown report here")
    parser.add_argument("--keep-workdirs", action="store_true")
    parser.add_argument(
        "--task-timing",
        action="store_true",
        help="log each run's wall time per task (benchmarks/callback_plugins/task_timing.py); results unchanged",
    )
    args = parser.parse_args(argv)
    args.accounts, args.users = numbers(args.accounts), numbers(args.users)
    args.forks = sorted(set(numbers(args.forks)) | {1})
    if not args.accounts or not args.users or min(args.accounts + args.users) < 1 or min(args.forks) < 1:
        parser.error("--accounts, --users and --forks take positive numbers")
    if args.repeats < 1 or args.growth_repeats < 1 or args.latency < 0:
        parser.error("--repeats and --growth-repeats must be at least 1, --latency 0 or more")
    return args


def layouts(args: argparse.Namespace) -> list[Layout]:
    base = Layout(args.accounts[0], args.users[0])
    grown = [Layout(count, base.users) for count in args.accounts[1:]]
    grown += [Layout(base.accounts, count) for count in args.users[1:]]
    return [base, *dict.fromkeys(layout for layout in grown if layout != base)]


# ---------------------------------------------------------------------------------------------
# The organization, seeded straight on moto
# ---------------------------------------------------------------------------------------------


class OrganizationSeeder:
    """Creates the organization once, then member accounts with users and keys, in moto, with boto3."""

    def __init__(self, moto: Any, workers: int = 16) -> None:
        self.moto = moto
        self.moto_url = moto.url
        self.workers = workers
        self.session = boto3.session.Session(region_name=REGION)
        self.config = botocore.config.Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=32)
        self.organizations = self.client("organizations")
        self.organizations.create_organization(FeatureSet="ALL")
        self.accounts: dict[str, str] = {}  # name -> id, in creation order

    def client(self, service: str, credentials: dict[str, str] | None = None) -> Any:
        credentials = credentials or {"AccessKeyId": DUMMY_ACCESS_KEY, "SecretAccessKey": DUMMY_SECRET_KEY}
        return self.session.client(
            service,
            endpoint_url=self.moto_url,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials.get("SessionToken"),
            config=self.config,
        )

    def account_iam(self, account_id: str) -> Any:
        sts = self.client("sts")
        role_arn = f"arn:aws:iam::{account_id}:role/{ROLE}"
        credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="bench-org-seed")["Credentials"]
        return self.client("iam", credentials)

    def accounts_with_users(self, prefix: str, count: int, users: int) -> list[str]:
        """Names of ``count`` accounts called ``prefix``-NNN with ``users`` users each, created where missing."""
        names = [f"{prefix}-{index:03d}" for index in range(1, count + 1)]
        for name in names:
            if name in self.accounts:
                continue
            status = self.organizations.create_account(AccountName=name, Email=f"aws+{name}@example.com")
            account_id = status["CreateAccountStatus"]["AccountId"]
            self.seed_account(account_id, users)
            self.accounts[name] = account_id
        return names

    def seed_account(self, account_id: str, users: int) -> None:
        """Users with two keys each, the second made a day after the first (moto's clock moves), as a rotation
        would: keys of one user made in the same second cannot be told apart in the credential report, and the
        report then looks each of them up (IAM users' keys are rarely made in the same second)."""
        iam = self.account_iam(account_id)
        names = [f"user-{index:04d}" for index in range(users)]

        def user_with_first_key(index: int) -> None:
            iam.create_user(UserName=names[index])
            key = iam.create_access_key(UserName=names[index])["AccessKey"]
            if index % USED_EVERY == 0:  # a call signed with the key: IAM records its last use
                self.client("iam", key).get_user()

        def second_key(index: int) -> None:
            iam.create_access_key(UserName=names[index])

        with concurrent.futures.ThreadPoolExecutor(max_workers=self.workers) as pool:
            list(pool.map(user_with_first_key, range(users)))
            self.moto.advance(days=1)
            list(pool.map(second_key, range(users)))


# ---------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------


class OrgBench:
    def __init__(self, args: argparse.Namespace, runner: Runner, moto: Any, proxy: Any, seeder: OrganizationSeeder):
        self.args = args
        self.runner = runner
        self.moto = moto
        self.proxy = proxy
        self.seeder = seeder

    def _measured(
        self, layout: Layout, forks: int | None, max_workers: int | None, workdir: Path, command: list[str], env: dict
    ) -> OrgRun:
        self.proxy.set_latency(self.args.latency)
        try:
            measured = self.runner.measure(command, workdir, env)
        finally:
            self.proxy.set_latency(0)
        run = OrgRun(layout, forks, max_workers, measured.wall, measured.cpu, measured.server_cpu, dict(measured.calls))
        if measured.error is not None:
            run.error = measured.error
        return run

    def audit(self, layout: Layout, names: list[str], forks: int, max_workers: int | None = None) -> OrgRun:
        ansible_env.ensure_collection_link()
        workers = f"-w{max_workers}" if max_workers else ""
        workdir = self.runner.new_workdir(f"audit-{layout.accounts}x{layout.users}-forks{forks}{workers}")
        inventory = workdir / "org.aws_accounts.yml"
        inventory.write_text(
            yaml.safe_dump({"plugin": "keyguard.aws.aws_accounts", "include_accounts": names}), encoding="utf-8"
        )
        report_dir = workdir / "report"
        command = [
            str(self.runner.env.bin_dir / "ansible-playbook"),
            "-i",
            str(inventory),
            str(PLAYBOOK),
            "--forks",
            str(forks),
            "-e",
            f"audit_report_dir={report_dir}",
        ]
        if max_workers:
            command += ["-e", f"audit_max_workers={max_workers}"]
        env = self.runner.environment(workdir)
        env["ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED"] = "True"
        timing = workdir / "task_timing.txt"
        if self.args.task_timing:
            env["ANSIBLE_CALLBACK_PLUGINS"] += os.pathsep + str(TIMING_CALLBACK_DIR)
            env["ANSIBLE_CALLBACKS_ENABLED"] += ",task_timing"
            env["TASK_TIMING_FILE"] = str(timing)
        run = self._measured(layout, forks, max_workers, workdir, command, env)
        if self.args.task_timing and timing.exists():
            log(f"   tasks of --forks {forks}:\n" + timing.read_text(encoding="utf-8").rstrip())
        if run.error is None:
            run.error = report_problem(report_dir / "report.json", layout)
        if run.error is None and not self.args.keep_workdirs:
            shutil.rmtree(workdir, ignore_errors=True)
        return run

    def floor(self, layout: Layout, names: list[str]) -> OrgRun:
        workdir = self.runner.new_workdir(f"floor-{layout.accounts}x{layout.users}")
        account_ids = [self.seeder.accounts[name] for name in names]
        command = [str(self.runner.env.python), str(FLOOR_SCRIPT), self.proxy.url, ROLE, *account_ids]
        run = self._measured(layout, None, None, workdir, command, self.runner.environment(workdir))
        if run.error is None:
            output = json.loads((workdir / "stdout.txt").read_text(encoding="utf-8"))
            expected = {"accounts": layout.accounts, "users": layout.accounts * layout.users}
            expected["keys"] = expected["users"] * KEYS_PER_USER
            if output != expected:
                run.error = f"the peer reported {output}, expected {expected}"
        if run.error is None and not self.args.keep_workdirs:
            shutil.rmtree(workdir, ignore_errors=True)
        return run


def report_problem(path: Path, layout: Layout) -> str | None:
    """Why the audit's report.json does not cover the layout (every account audited, every key), or None."""
    try:
        totals = json.loads(path.read_text(encoding="utf-8"))["totals"]
    except (OSError, ValueError, KeyError) as exc:
        return f"no readable report at {path}: {exc}"
    expected = {
        "accounts": layout.accounts,
        "accounts_audited": layout.accounts,
        "accounts_failed": 0,
        "keys": layout.accounts * layout.users * KEYS_PER_USER,
    }
    found = {name: totals.get(name) for name in expected}
    return None if found == expected else f"report totals {found}, expected {expected}"


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclasses.dataclass
class Row:
    layout: Layout
    forks: int | None
    max_workers: int | None
    runs: list[OrgRun]

    def value(self, name: str) -> float:
        return median([getattr(run, name) for run in self.runs])

    @property
    def label(self) -> str:
        if self.forks is None:
            return "plain boto3, accounts in sequence"
        workers = f", audit_max_workers {self.max_workers}" if self.max_workers else ""
        return f"keyguard.aws, --forks {self.forks}{workers}"


def build_rows(runs: list[OrgRun]) -> list[Row]:
    rows: dict[tuple[Layout, int | None], Row] = {}
    for run in runs:
        if run.error is None:
            key = (run.layout, run.forks, run.max_workers)
            rows.setdefault(key, Row(run.layout, run.forks, run.max_workers, [])).runs.append(run)
    return list(rows.values())


def find(rows: list[Row], layout: Layout, forks: int | None, max_workers: int | None = None) -> Row | None:
    return next((row for row in rows if (row.layout, row.forks, row.max_workers) == (layout, forks, max_workers)), None)


def results_table(rows: list[Row], cpus: int) -> str:
    table = []
    for row in rows:
        first = find(rows, row.layout, 1, row.max_workers)
        speedup = first.value("wall") / row.value("wall") if first and row.forks is not None else None
        table.append(
            [
                row.layout.label,
                row.label,
                str(len(row.runs)),
                seconds(row.value("wall")),
                times(speedup),
                str(round(row.value("iam_calls"))),
                f"{row.value('iam_calls') / row.layout.accounts:.0f}",
                seconds(row.value("playbook_cpu")),
                seconds(row.value("server_cpu")),
                seconds(row.value("cpu_total") / cpus),
            ]
        )
    header = [
        "layout",
        "variant",
        "runs",
        "wall s",
        "speed-up",
        "IAM calls",
        "per account",
        "playbook CPU s",
        "moto + proxy CPU s",
        f"CPU bound s ({cpus} CPUs)",
    ]
    return markdown_table(header, table)


def build_targets(rows: list[Row], base: Layout, forks: list[int], cpus: int) -> list[Target]:
    """The issue's target on the module's defaults; the same ratio with each audit_max_workers variant, informative."""
    found: list[Target] = []
    for max_workers in sorted({row.max_workers for row in rows if row.forks}, key=lambda value: value or 0):
        first, last = find(rows, base, 1, max_workers), find(rows, base, max(forks), max_workers)
        if not (first and last and last.forks != 1):
            continue
        speedup = first.value("wall") / last.value("wall")
        bound = last.value("cpu_total") / cpus
        found.append(
            Target(
                f"{base.label}: --forks {last.forks} against --forks 1"
                + (f", audit_max_workers {max_workers}" if max_workers else ""),
                f">= {FORKS_TARGET:g}x faster",
                times(speedup),
                speedup >= FORKS_TARGET,
                f"{first.value('wall'):.1f} s / {last.value('wall'):.1f} s; at --forks {last.forks} the three "
                f"processes used {last.value('cpu_total'):.1f} CPU s, {bound:.1f} s on {cpus} CPUs "
                f"({first.value('wall') / bound:.1f}x at most from forks on this machine)",
                informative=max_workers is not None,
            )
        )
    return found


def growth_lines(rows: list[Row], base: Layout, layouts_run: list[Layout]) -> list[str]:
    lines = []
    for layout in layouts_run[1:]:
        for row in rows:
            if row.layout != layout or row.forks is None or row.max_workers:
                continue
            before = find(rows, base, row.forks)
            if before is None:
                continue
            grown = (
                f"accounts {base.accounts} -> {layout.accounts}"
                if layout.accounts != base.accounts
                else f"users an account {base.users} -> {layout.users}"
            )
            factor = (layout.accounts * layout.users) / (base.accounts * base.users)
            lines.append(
                f"- {grown} ({factor:g}x the keys), --forks {row.forks}: {before.value('wall'):.1f} s -> "
                f"{row.value('wall'):.1f} s ({row.value('wall') / before.value('wall'):.2f}x the time); IAM calls "
                f"{before.value('iam_calls'):.0f} -> {row.value('iam_calls'):.0f}."
            )
    return lines


def floor_lines(rows: list[Row], base: Layout, forks: list[int]) -> list[str]:
    peer = find(rows, base, None)
    if peer is None:
        return []
    lines = [
        f"- The plain-boto3 peer took {peer.value('wall'):.1f} s for {base.label} ({peer.value('iam_calls'):.0f} "
        "IAM calls, one at a time)."
    ]
    for count in forks:
        ours = find(rows, base, count)
        if ours:
            lines.append(
                f"- keyguard.aws at --forks {count}: {ours.value('wall'):.1f} s, "
                f"{times(ours.value('wall') / peer.value('wall'))} the peer's wall time."
            )
    return lines


def render(args, rows, failures, layouts_run, meta, caveats, cpus) -> str:
    found = build_targets(rows, layouts_run[0], args.forks, cpus)
    parts = ["# The organization audit across accounts, under real IAM latency", ""]
    parts += [f"- {key}: {value}" for key, value in meta.items()]
    parts += ["", *caveats, "", "## Target (issue 13)", "", targets_table(found) if found else "(not measured)", ""]
    parts += ["## Results", "", results_table(rows, cpus), ""]
    growth = growth_lines(rows, layouts_run[0], layouts_run)
    if growth:
        parts += ["## Growth", "", *growth, ""]
    peer = floor_lines(rows, layouts_run[0], args.forks)
    if peer:
        parts += ["## Beside a plain boto3 script", "", *peer, ""]
    if failures:
        parts += ["## Runs that failed (not counted)", ""]
        parts += [
            f"- {run.layout.label}, forks {run.forks}, max_workers {run.max_workers or 'default'}: "
            f"{run.error.splitlines()[0]}"
            for run in failures
        ]
        parts += [""]
    parts += ["## How this is measured", "", *[f"- {note}" for note in NOTES], ""]
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def metadata(args, env: PythonEnv, started: datetime.datetime, elapsed: float, load, cpus: int) -> dict[str, str]:
    import moto

    command = rerun_command("bench-org", "BENCH_ORG_ARGS", args.argv)
    return {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_description(load),
        "versions": f"Python {env.query('import platform; print(platform.python_version())')}, ansible-core "
        f"{env.version_of('ansible-core')}, botocore {env.version_of('botocore')}, moto {moto.__version__}",
        "keyguard.aws": f"checkout {git_revision()}",
        "settings": f"layouts {', '.join(layout.label for layout in layouts(args))}; --forks "
        f"{', '.join(map(str, args.forks))}; {args.latency * 1000:g} ms added to every call; rounds "
        f"{args.repeats} on the base layout, {args.growth_repeats} on the others; the module's default "
        "max_workers",
        "command": command,
        "duration": f"{elapsed / 60:.1f} min",
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    env = PythonEnv.from_argument(args.ansible_venv)
    if not (env.bin_dir / "ansible-playbook").exists():
        raise SystemExit(f"no ansible-playbook in {env.bin_dir}")
    cpus = len(os.sched_getaffinity(0))
    started = datetime.datetime.now(datetime.timezone.utc)
    began, load_at_start = time.monotonic(), os.getloadavg()
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    moto_control, iam_proxy = load_tool("moto_control"), load_tool("iam_proxy")
    workroot = Path(tempfile.mkdtemp(prefix="org-", dir=OUTPUT_DIR))
    moto = moto_control.start_moto_server(workroot / "moto")
    proxy = iam_proxy.IamProxy(moto.url).start()
    runs: list[OrgRun] = []
    layouts_run = layouts(args)
    try:
        runner = Runner(env, workroot, proxy.url, proxy, [])
        runner.server_pid = moto.pid
        seeder = OrganizationSeeder(moto)
        bench = OrgBench(args, runner, moto, proxy, seeder)
        for index, layout in enumerate(layouts_run):
            log(f"== {layout.label}: seeding")
            seeded = time.monotonic()
            names = seeder.accounts_with_users(f"u{layout.users}", layout.accounts, layout.users)
            log(f"   seeded in {time.monotonic() - seeded:.0f} s")
            rounds = args.repeats if index == 0 else args.growth_repeats
            variants = [(forks, None) for forks in args.forks]
            if index == 0 and args.sequential_workers:
                variants += [(forks, args.sequential_workers) for forks in args.forks]
            for round_index in range(rounds):
                shift = round_index % len(variants)
                for forks, max_workers in variants[shift:] + variants[:shift]:
                    run = bench.audit(layout, names, forks, max_workers)
                    runs.append(run)
                    log(
                        f"   round {round_index + 1}, --forks {forks}"
                        + (f", audit_max_workers {max_workers}" if max_workers else "")
                        + f": {run.wall:.1f} s, {run.iam_calls} IAM calls, CPU playbook {run.playbook_cpu:.1f} s, "
                        f"moto + proxy {run.server_cpu:.1f} s" + (f"; FAILED: {run.error}" if run.error else "")
                    )
            if index == 0 and not args.no_floor:
                run = bench.floor(layout, names)
                runs.append(run)
                log(f"   plain boto3 peer: {run.wall:.1f} s" + (f"; FAILED: {run.error}" if run.error else ""))
    finally:
        proxy.stop()
        moto.stop()
    elapsed = time.monotonic() - began
    rows, failures = build_rows(runs), [run for run in runs if run.error]
    meta = metadata(args, env, started, elapsed, load_at_start, cpus)
    markdown = render(args, rows, failures, layouts_run, meta, load_caveat(load_at_start), cpus)
    (OUTPUT_DIR / "org.md").write_text(markdown, encoding="utf-8")
    print(markdown, flush=True)
    if args.write_results:
        args.write_results.write_text(markdown, encoding="utf-8")
        log(f"wrote {args.write_results}")
    if not failures and not args.keep_workdirs:
        shutil.rmtree(workroot, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
