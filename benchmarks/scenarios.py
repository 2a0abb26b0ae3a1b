# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The benchmark scenarios: what each one seeds, the playbook (or script) of each variant, and how
a run is checked to have done the right thing.

Every playbook is one play on localhost (``connection: local``) that starts with the same
``ansible.builtin.debug`` task; the "baseline: debug" variant is that play alone, so a scenario's
task cost is its median wall time minus the baseline's. Variants:

- ``debug`` / ``ping``: the baseline play, and the baseline play plus an ``ansible.builtin.ping`` task.
- ``in-process``: keyguard.aws on the controller-local fast path (the default for a local connection).
- ``module``: keyguard.aws with ``keyguard_aws_in_process: false``, i.e. a module process per task or item.
- ``amazon.aws``: amazon.aws's module doing the nearest equivalent (``make bench-compare`` only).
- ``floor``: benchmarks/floor_report.py, the plain single-process boto3 whole-account report.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import DUMMY_ACCESS_KEY, DUMMY_SECRET_KEY, REGION, Measurement

BENCH_DIR = Path(__file__).resolve().parent
FLOOR_SCRIPT = BENCH_DIR / "floor_report.py"
GROUPS = {"keyguard": "group/keyguard.aws.aws", "amazon": "group/amazon.aws.aws"}
DEBUG_TASK = {"name": "baseline debug", "ansible.builtin.debug": {"msg": "benchmark"}}
PING_TASK = {"name": "ping", "ansible.builtin.ping": {}}
LOOP_ITEMS = 20
SEPARATE_TASKS = 10
ACCOUNT_SIZES = (100, 400, 1600)
THEIR_LOOP_SIZE = 200  # amazon.aws's loop over users is only measured at this account size (make bench-compare)

Check = Callable[[Measurement, dict[str, Any]], "str | None"]


@dataclasses.dataclass
class Variant:
    key: str
    label: str
    tasks: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None  # run vars -> tasks after the debug task
    collection: str | None = None  # whose module_defaults group gets the connection options
    in_process: bool | None = None  # False: keyguard_aws_in_process=false
    script: bool = False  # the plain-boto3 floor instead of a playbook
    script_args: tuple[str, ...] = ()  # after the endpoint URL
    check: Check | None = None
    extrapolated_from: int | None = None  # amazon.aws loop over fewer users than the account has
    copies: int = 1  # the task repeated as this many separate tasks

    @property
    def is_ours(self) -> bool:
        return self.key.startswith(("in-process", "module"))

    @property
    def theirs_key(self) -> str:
        """The amazon.aws variant this one is compared with."""
        return "amazon.aws" + copies_suffix(self.copies)


@dataclasses.dataclass
class Scenario:
    name: str
    title: str
    description: str
    variants: list[Variant]
    prepare: Callable[[Any], dict[str, Any]] | None = None  # once, before the first run: returns run vars
    before_run: Callable[[Any, dict[str, Any], Variant, int], dict[str, Any]] | None = None  # per run
    items: int = 1  # tasks or loop items measured per run
    account_size: int | None = None
    budget: int | None = None  # API-call budget of one run of ours, when the issue sets one
    max_calls_per_item: int | None = None
    no_writes: bool = False
    baseline_key: str | None = "debug"  # variant whose median is subtracted; None or absent: the global baseline
    min_repeats: int = 1  # at least this many rounds, whatever --repeats says (cheap scenarios the targets rest on)


def connection_options(endpoint_url: str) -> dict[str, str]:
    return {
        "endpoint_url": endpoint_url,
        "access_key": DUMMY_ACCESS_KEY,
        "secret_key": DUMMY_SECRET_KEY,
        "region": REGION,
    }


def build_play(variant: Variant, run_vars: dict[str, Any], endpoint_url: str) -> list[dict[str, Any]]:
    play: dict[str, Any] = {
        "name": "benchmark",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "tasks": [DEBUG_TASK, *(variant.tasks(run_vars) if variant.tasks else [])],
    }
    if variant.collection:
        play["module_defaults"] = {GROUPS[variant.collection]: connection_options(endpoint_url)}
    if variant.in_process is False:
        play["vars"] = {"keyguard_aws_in_process": False}
    return [play]


# ---------------------------------------------------------------------------------------------
# Checks: a run only counts when it did what the scenario says
# ---------------------------------------------------------------------------------------------


def module_records(measurement: Measurement) -> list[dict[str, Any]]:
    return [record for record in measurement.records if record["task"] != DEBUG_TASK["name"]]


def _results(measurement: Measurement) -> list[dict[str, Any]]:
    """The module result of each task or loop item after the debug task."""
    results: list[dict[str, Any]] = []
    for record in module_records(measurement):
        if record["status"] in ("failed", "unreachable"):
            raise ValueError(f"task {record['task']!r} {record['status']}: {record['result'].get('msg')}")
        result = record["result"]
        results.extend(result["results"] if "results" in result else [result])
    return results


def expect(count: int, changed: bool | None = None, predicate: Callable[[dict[str, Any]], bool] | None = None) -> Check:
    def check(measurement: Measurement, run_vars: dict[str, Any]) -> str | None:
        try:
            results = _results(measurement)
        except ValueError as exc:
            return str(exc)
        if len(results) != count:
            return f"expected {count} task results, got {len(results)}"
        for result in results:
            if result.get("failed"):
                return f"a task failed: {result.get('msg')}"
            if changed is not None and bool(result.get("changed")) != changed:
                return f"expected changed={changed}, got {result.get('changed')}"
            if predicate is not None and not predicate(result):
                return "unexpected result: " + str({key: result.get(key) for key in ("count", "access_keys")})[:300]
        return None

    return check


def expect_keys(total: Callable[[dict[str, Any]], int], items: int = 1) -> Check:
    """Info results listing ``total(run_vars)`` keys in all, over ``items`` task results."""

    def check(measurement: Measurement, run_vars: dict[str, Any]) -> str | None:
        problem = expect(items)(measurement, run_vars)
        if problem:
            return problem
        found = sum(len(result.get("access_keys", [])) for result in _results(measurement))
        wanted = total(run_vars)
        return None if found == wanted else f"expected {wanted} keys, got {found}"

    return check


def expect_floor_keys(measurement: Measurement, run_vars: dict[str, Any]) -> str | None:
    wanted = run_vars["expected_keys"]
    found = (measurement.output or {}).get("keys")
    return None if found == wanted else f"expected {wanted} keys, got {found}"


# ---------------------------------------------------------------------------------------------
# Variants
# ---------------------------------------------------------------------------------------------


TaskBuilder = Callable[[dict[str, Any]], dict[str, Any]]


def _tasks(task: TaskBuilder, loop: str | None, copies: int) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    """The task (as a loop over the ``loop`` variable), ``copies`` times as separate tasks."""

    def tasks(run_vars: dict[str, Any]) -> list[dict[str, Any]]:
        built = []
        for index in range(copies):
            body = task(run_vars)
            if loop:
                body["loop"] = "{{ " + loop + " }}"
            if copies > 1:
                body["name"] = f"{body['name']} {index + 1}"
            built.append(body)
        return built

    return tasks


def copies_suffix(copies: int) -> str:
    return "" if copies == 1 else f"-x{copies}"


def ours(key: str, task: TaskBuilder, check: Check, loop: str | None = None, copies: int = 1) -> Variant:
    in_process = key == "in-process"
    label = "keyguard.aws in-process" if in_process else "keyguard.aws module path"
    if copies > 1:
        label += f", {copies} separate tasks"
    return Variant(
        key + copies_suffix(copies),
        label,
        _tasks(task, loop, copies),
        collection="keyguard",
        in_process=in_process,
        check=check,
        copies=copies,
    )


def ours_both(task: TaskBuilder, check: Check, loop: str | None = None, copies: int = 1) -> list[Variant]:
    return [ours("in-process", task, check, loop, copies), ours("module", task, check, loop, copies)]


def theirs(task: TaskBuilder, check: Check, loop: str | None = None, copies: int = 1) -> Variant:
    label = "amazon.aws" + (f", {copies} separate tasks" if copies > 1 else "")
    return Variant(
        "amazon.aws" + copies_suffix(copies),
        label,
        _tasks(task, loop, copies),
        collection="amazon",
        check=check,
        copies=copies,
    )


DEBUG_VARIANT = Variant("debug", "baseline: debug task", None, check=expect(0))
PING_VARIANT = Variant("ping", "baseline + ping task", lambda run_vars: [PING_TASK], check=expect(1))


def _user_name(prefix: str, variant: Variant, run: int) -> str:
    return f"{prefix}-{variant.key.replace('.', '-')}-{run}"


# ---------------------------------------------------------------------------------------------
# The scenarios
# ---------------------------------------------------------------------------------------------


def noop_task(compare: bool) -> Scenario:
    def prepare(ctx: Any) -> dict[str, Any]:
        key = ctx.seeder.user_with_keys("bench-noop")[0]
        return {"user": key.user_name, "key_id": key.access_key_id}

    def ours_task(v: dict[str, Any]) -> dict[str, Any]:
        return {"name": "no-op", "keyguard.aws.iam_access_key": {"user_name": v["user"], "state": "active"}}

    def their_task(v: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": "no-op",
            "amazon.aws.iam_access_key": {"user_name": v["user"], "id": v["key_id"], "active": True},
        }

    variants = [DEBUG_VARIANT, PING_VARIANT]
    for copies in (1, SEPARATE_TASKS):
        variants += ours_both(ours_task, expect(copies, changed=False), copies=copies)
        if compare:
            variants.append(theirs(their_task, expect(copies, changed=False), copies=copies))
    return Scenario(
        "noop-task",
        "No-op reconcile of one user, as a separate task",
        "The user has one Active key. keyguard.aws: `user_name, state: active`. amazon.aws (whose only no-op "
        "form needs the key id): `user_name, id, active: true`. Each measured once as the only task after the "
        f"debug task, and as {SEPARATE_TASKS} separate tasks (the first one pays the one-time costs: for "
        "keyguard.aws in-process, its worker imports botocore, and the controller's main process imports it and "
        "loads IAM's models before it forks the next worker).",
        variants,
        prepare=prepare,
        max_calls_per_item=2,
        no_writes=True,
        min_repeats=11,  # the per-task targets rest on it, the further-task ones on differences of runs
    )


def noop_loop(compare: bool) -> Scenario:
    def prepare(ctx: Any) -> dict[str, Any]:
        names = [f"bench-loop-{index:02d}" for index in range(LOOP_ITEMS)]
        ctx.seeder.create_users(names)
        keys = ctx.seeder.create_keys(names)
        return {"users": names, "user_keys": [{"user": key.user_name, "id": key.access_key_id} for key in keys]}

    variants = [
        DEBUG_VARIANT,
        *ours_both(
            lambda v: {"name": "no-op", "keyguard.aws.iam_access_key": {"user_name": "{{ item }}", "state": "active"}},
            expect(LOOP_ITEMS, changed=False),
            loop="users",
        ),
    ]
    if compare:
        variants.append(
            theirs(
                lambda v: {
                    "name": "no-op",
                    "amazon.aws.iam_access_key": {
                        "user_name": "{{ item.user }}",
                        "id": "{{ item.id }}",
                        "active": True,
                    },
                },
                expect(LOOP_ITEMS, changed=False),
                loop="user_keys",
            )
        )
    return Scenario(
        "noop-loop",
        f"No-op reconcile, one task looping over {LOOP_ITEMS} users",
        f"{LOOP_ITEMS} users with one Active key each; the same no-op task as above as a loop.",
        variants,
        prepare=prepare,
        items=LOOP_ITEMS,
        max_calls_per_item=2,
        no_writes=True,
        min_repeats=5,  # the module-path loop target rests on it
    )


def create(compare: bool) -> Scenario:
    def before_run(ctx: Any, run_vars: dict[str, Any], variant: Variant, run: int) -> dict[str, Any]:
        name = _user_name("bench-create", variant, run)
        ctx.seeder.create_users([name])
        return {**run_vars, "user": name}

    def task(module: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
        return lambda v: {"name": "create", module: {"user_name": v["user"], "state": "present"}, "no_log": True}

    variants = [DEBUG_VARIANT, *ours_both(task("keyguard.aws.iam_access_key"), expect(1, changed=True))]
    if compare:
        variants.append(theirs(task("amazon.aws.iam_access_key"), expect(1, changed=True)))
    return Scenario(
        "create",
        "Create a key",
        "A user without keys; `user_name, state: present` (both collections), `no_log: true`.",
        variants,
        before_run=before_run,
    )


def deactivate(compare: bool) -> Scenario:
    def before_run(ctx: Any, run_vars: dict[str, Any], variant: Variant, run: int) -> dict[str, Any]:
        key = ctx.seeder.user_with_keys(_user_name("bench-deactivate", variant, run))[0]
        return {**run_vars, "user": key.user_name, "key_id": key.access_key_id}

    variants = [
        DEBUG_VARIANT,
        *ours_both(
            lambda v: {"name": "deactivate", "keyguard.aws.iam_access_key": {"id": v["key_id"], "state": "inactive"}},
            expect(1, changed=True),
        ),
    ]
    if compare:
        variants.append(
            theirs(
                lambda v: {
                    "name": "deactivate",
                    "amazon.aws.iam_access_key": {"user_name": v["user"], "id": v["key_id"], "active": False},
                },
                expect(1, changed=True),
            )
        )
    return Scenario(
        "deactivate",
        "Deactivate a key by id",
        "One Active key. keyguard.aws: `id, state: inactive` (the owner is looked up). amazon.aws needs the "
        "owner too: `user_name, id, active: false`.",
        variants,
        before_run=before_run,
    )


def rotation(compare: bool) -> Scenario:
    def before_run(ctx: Any, run_vars: dict[str, Any], variant: Variant, run: int) -> dict[str, Any]:
        key = ctx.seeder.user_with_keys(_user_name("bench-rotate", variant, run))[0]
        ctx.moto.advance(days=91)  # the key is now 91 days old by IAM's (moto's) clock
        return {**run_vars, "user": key.user_name}

    def task(v: dict[str, Any]) -> dict[str, Any]:
        options = {"user_name": v["user"], "state": "active", "rotate_after_days": 90, "previous_keys": "deactivate"}
        return {"name": "rotate", "keyguard.aws.iam_access_key": options, "no_log": True}

    variants = [DEBUG_VARIANT, *ours_both(task, expect(1, changed=True))]
    return Scenario(
        "rotation",
        "Rotate a 91-day-old key",
        "One Active key, 91 days old on moto's clock; `state: active, rotate_after_days: 90, previous_keys: "
        "deactivate` creates a key and deactivates the old one. amazon.aws has no age-based rotation.",
        variants,
        before_run=before_run,
    )


def info_user(compare: bool) -> Scenario:
    def prepare(ctx: Any) -> dict[str, Any]:
        keys = ctx.seeder.user_with_keys("bench-info", count=2)
        ctx.seeder.use_keys(keys[:1])
        return {"user": "bench-info"}

    variants = [
        DEBUG_VARIANT,
        *ours_both(
            lambda v: {"name": "info", "keyguard.aws.iam_access_key_info": {"user_name": v["user"]}},
            expect_keys(lambda v: 2),
        ),
    ]
    if compare:
        variants.append(
            theirs(
                lambda v: {"name": "info", "amazon.aws.iam_access_key_info": {"user_name": v["user"]}},
                expect_keys(lambda v: 2),
            )
        )
    return Scenario(
        "info-user",
        "Info for one user",
        "Two keys, one used. keyguard.aws reports last use too (ListAccessKeys, ListUserTags, one "
        "GetAccessKeyLastUsed a key); amazon.aws has no last use.",
        variants,
        prepare=prepare,
        budget=2 + 2,
    )


def account_budget(users: int) -> int:
    return users + -(-users // 100) + 5


def info_account(users: int, compare: bool, their_loop_users: int) -> Scenario:
    variants = [
        DEBUG_VARIANT,
        *ours_both(
            lambda v: {"name": "whole-account info", "keyguard.aws.iam_access_key_info": {}},
            expect_keys(lambda v: v["expected_keys"]),
        ),
    ]
    if compare:
        variants.append(Variant("floor", "plain boto3 floor", script=True, check=expect_floor_keys))
    if compare and users == THEIR_LOOP_SIZE:
        measured = min(their_loop_users, users)
        loop = theirs(
            lambda v: {"name": "info per user", "amazon.aws.iam_access_key_info": {"user_name": "{{ item }}"}},
            expect_keys(lambda v: 2 * len(v["loop_users"]), items=measured),
            loop="loop_users",
        )
        loop.label = "amazon.aws loop over users" + (f" (first {measured} users)" if measured < users else "")
        loop.extrapolated_from = measured if measured < users else None
        variants.append(loop)
    return Scenario(
        f"info-account-{users}",
        f"Info for the whole account, N = {users}",
        f"{users} users with 2 keys each (created a day apart), half of the keys used. keyguard.aws: one task, "
        "last use and descriptions included; floor: one boto3 process, ListUsers + ListAccessKeys + "
        "GetAccessKeyLastUsed sequentially; amazon.aws (only at N = 200): iam_access_key_info looping over the "
        "user names (no last use).",
        variants,
        account_size=users,
        budget=account_budget(users),
    )


def small_scenarios(compare: bool) -> list[Scenario]:
    return [
        noop_task(compare),
        noop_loop(compare),
        create(compare),
        deactivate(compare),
        rotation(compare),
        info_user(compare),
    ]
