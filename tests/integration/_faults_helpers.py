# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import collections
import json
import random
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

import iam_proxy  # tests/tools (see tests/conftest.py)
from helpers import Checkpoints, read_user

# Helpers for the robustness tests (test_faults, test_concurrency, test_bad_input, test_secrets):
# - SeededFaults: a proxy rule injecting faults at a rate, reproducibly, whatever order concurrent calls arrive in.
# - Hooks: checkpoints (see helpers.Checkpoints) that can also run code in the test process between two tasks
#   (arm a fault, move moto's clock) and note when they ran (task durations).
# - moto_keys / assert_no_unknown_keys: every key IAM holds is one that existed before or whose secret a task
#   returned, and every returned secret is the one moto holds.

MODULE = "keyguard.aws.iam_access_key"
INFO_MODULE = "keyguard.aws.iam_access_key_info"
IN_PROCESS_ENV = "KEYGUARD_AWS_IN_PROCESS"
# The two ways a local task runs: the action plugin runs the module's code in the controller's worker process
# (default), or, with KEYGUARD_AWS_IN_PROCESS=0, Ansible runs the module as usual (AnsiballZ, a Python process).
# Each row names its path, whatever the suite's default (KEYGUARD_TEST_EXECUTION=module sets "0" for every task).
PATHS = {"in-process": {IN_PROCESS_ENV: "1"}, "module": {IN_PROCESS_ENV: "0"}}


Fault = iam_proxy.Fault


class SeededFaults:
    """Proxy rule: each call gets a fault of one of ``kinds`` with probability ``rate``.

    The draw for the n-th call of an action comes from ``Random(f"{seed}:{action}:{n}")``, so a run is reproducible
    even where calls run concurrently (the info module's thread pool) and arrive at the proxy in any order.
    ``actions`` limits it to those actions (every action when None).
    """

    def __init__(
        self,
        kinds: Iterable[str],
        rate: float,
        seed: int = 0,
        actions: Iterable[str] | None = None,
        delay: float = 2.0,
    ) -> None:
        self.kinds = tuple(kinds)
        self.rate = rate
        self.seed = seed
        self.actions = frozenset(actions) if actions is not None else None
        self.delay = delay
        self.seen: collections.Counter = collections.Counter()
        self.fired: collections.Counter = collections.Counter()  # (action, kind) -> faults injected
        self._lock = threading.Lock()

    def __call__(self, request) -> Any:
        if self.actions is not None and request.action not in self.actions:
            return None
        with self._lock:
            index = self.seen[request.action]
            self.seen[request.action] += 1
        rng = random.Random(f"{self.seed}:{request.action}:{index}")  # fault injection, not crypto
        if rng.random() >= self.rate:
            return None
        kind = rng.choice(self.kinds)
        with self._lock:
            self.fired[(request.action, kind)] += 1
        return Fault(kind, self.delay)

    @property
    def total_fired(self) -> int:
        return sum(self.fired.values())

    def summary(self) -> str:
        calls = sum(self.seen.values())
        return f"{self.total_fired} faults in {calls} calls: " + ", ".join(
            f"{action}/{kind}={count}" for (action, kind), count in sorted(self.fired.items())
        )


class Hooks(Checkpoints):
    """Checkpoints between tasks that can also run code in the test process.

    ``around(tasks, before={task name: callable})`` puts a checkpoint before every task and after the last; the
    checkpoint before task X reads IAM (``before(X)``), then runs ``before[X]`` (e.g. arm a proxy fault, advance
    moto's clock). ``duration(X)`` is the time from that checkpoint to the one after X (X plus a little overhead).
    """

    def __init__(self, proxy, client, user_names: Iterable[str]):
        super().__init__(proxy, client, user_names)
        self.run_after: dict[str, Callable[[], Any]] = {}
        self.times: dict[str, float] = {}

    def take(self, label: str):
        point = super().take(label)
        self.times[label] = time.monotonic()
        action = self.run_after.get(label)
        if action is not None:
            action()
        return point

    def around(  # pylint: disable=arguments-renamed
        self,
        tasks: Iterable[dict[str, Any]],
        start: str = "start",
        before: dict[str, Callable[[], Any]] | None = None,
    ) -> list[dict[str, Any]]:
        before = dict(before or {})
        result = [self.task(start)]
        previous = start
        for task in tasks:
            if task["name"] in before:
                self.run_after[previous] = before.pop(task["name"])
            result += [task, self.task(task["name"])]
            previous = task["name"]
        if before:
            raise KeyError(f"no task named {sorted(before)}")
        return result

    def duration(self, label: str) -> float:
        self._get(label)
        previous = self.order[self.order.index(label) - 1]
        return self.times[label] - self.times[previous]

    def forwarded_writes(self, label: str) -> list[str | None]:
        """The write calls of task ``label`` that reached moto (so took effect), in order."""
        return [call.action for call in self.calls(label) if call.action in WRITE_ACTIONS and call.forwarded]


WRITE_ACTIONS = frozenset({"CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey", "TagUser", "UntagUser"})


def moto_keys(moto) -> dict[str, dict[str, str]]:
    """Every access key moto ever made since its reset (deleted ones too): {id: {"user": ..., "secret": ...}}."""
    with urllib.request.urlopen(moto.url + "/moto-api/data.json", timeout=30) as response:
        data = json.loads(response.read())
    return {
        item["access_key_id"]: {"user": item.get("user_name"), "secret": item["secret_access_key"]}
        for item in data.get("iam", {}).get("AccessKey", [])
    }


def returned_secrets(results: Iterable[dict[str, Any]]) -> dict[str, str]:
    """{access key id: secret} from every task result that returned a secret (failed tasks included)."""
    found = {}
    for result in results:
        if result.get("secret_access_key"):
            key_id = (result.get("access_key") or {}).get("access_key_id")
            assert key_id, f"a secret without its key id: {sorted(result)}"
            assert key_id not in found, f"key {key_id} returned twice"
            found[key_id] = result["secret_access_key"]
    return found


def assert_no_unknown_keys(moto, iam, users: Iterable[str], existed_before: Iterable[str], secrets: dict[str, str]):
    """No orphan: every key of ``users`` is one that existed before, or one whose secret a task returned (and that
    secret is the one moto holds). Returns the keys that exist, per user."""
    made = moto_keys(moto)
    existed = set(existed_before)
    for key_id, secret in secrets.items():
        assert made.get(key_id, {}).get("secret") == secret, f"the secret returned for {key_id} is not moto's"
    existing = {user: read_user(iam, user).key_ids for user in users}
    for user, key_ids in existing.items():
        unknown = [key_id for key_id in key_ids if key_id not in existed and key_id not in secrets]
        assert unknown == [], f"user {user} has keys whose secret no task returned: {unknown}"
    return existing
