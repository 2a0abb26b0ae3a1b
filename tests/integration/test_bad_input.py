# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import concurrent.futures
import dataclasses
import re
from pathlib import Path
from typing import Any

import iam_proxy  # tests/tools (see tests/conftest.py)
import pytest
from _faults_helpers import INFO_MODULE, MODULE, PATHS, WRITE_ACTIONS, moto_keys
from helpers import read_iam

# Bad input (issue 5), table-driven over every option of both modules, through the real ansible-playbook on both
# execution paths: each case is a task (ignore_errors) that must fail with one clear line naming the option, before
# any IAM call (a proxy rule attributes every call to the task running when it came), and leave IAM as it was. The
# messages must be the same in-process and as a module.
#
# The playbooks run once, in a module-scoped fixture; then one test per case and path checks its outcome, and one per
# case compares the two paths' messages, so a failure names the case.
#
# The inputs are chosen so that a case that slipped through would change IAM: alice has no key (a task on her would
# create one), bob has one Active key (a task on it would deactivate, rotate or delete it).

# One xdist worker runs all of this file (with --dist loadgroup), so the expensive module fixture runs once.
pytestmark = pytest.mark.xdist_group("bad_input")

ALICE = "alice"
BOB = "bob"
NO_TRACEBACK = "(traceback unavailable)"
LONG_NAME = "a" * 65
LONG_ID = "A" * 129


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    module: str
    options: dict[str, Any]
    mentions: tuple[str, ...]  # the message must contain each (the option first)


def case(name: str, options: dict[str, Any], *mentions: str, module: str = MODULE) -> Case:
    return Case(name, module, options, mentions)


def info(name: str, options: dict[str, Any], *mentions: str) -> Case:
    return Case(name, INFO_MODULE, options, mentions)


BOB_KEY = "{{ bob_key }}"  # bob's key id, an extra var

CASES = [
    # --- iam_access_key: user_name ---
    case("user_name empty", {"user_name": "", "state": "active"}, "user_name", "not a valid IAM user name"),
    case("user_name 65 characters", {"user_name": LONG_NAME}, "user_name", "1-64 characters"),
    case("user_name with a slash", {"user_name": "alice/admin"}, "user_name", "alice/admin"),
    case("user_name with a space", {"user_name": "alice smith"}, "user_name", "alice smith"),
    case("user_name a list", {"user_name": [ALICE, BOB]}, "user_name"),
    case("username alias empty", {"username": ""}, "user_name"),
    # --- id ---
    case("id empty", {"user_name": BOB, "id": "", "state": "inactive"}, "id", "not a valid access key id"),
    case("id lower case", {"user_name": BOB, "id": "akiaiosfodnn7example", "state": "absent"}, "id"),
    case("id too short", {"user_name": BOB, "id": "AKIA1234", "state": "absent"}, "id", "16-128"),
    case("id too long", {"user_name": BOB, "id": LONG_ID, "state": "absent"}, "id", "16-128"),
    case("id with dashes", {"id": "AKIA-IOSF-ODNN-7EXA", "state": "absent"}, "id"),
    case("id a dict", {"user_name": BOB, "id": {"key": "AKIAIOSFODNN7EXAMPLE"}, "state": "absent"}, "id"),
    # --- description ---
    case("description 257 characters", {"user_name": ALICE, "description": "d" * 257}, "description", "256"),
    case("description with <>", {"user_name": ALICE, "description": "<script>"}, "description"),
    case("description on a key, too long", {"user_name": BOB, "id": BOB_KEY, "description": "x" * 300}, "description"),
    # --- state ---
    case("state unknown", {"user_name": ALICE, "state": "enabled"}, "state", "enabled"),
    case("state in IAM's spelling", {"user_name": BOB, "id": BOB_KEY, "state": "Inactive"}, "state", "Inactive"),
    case("state a list", {"user_name": ALICE, "state": ["active"]}, "state"),
    # --- rotate_after_days ---
    case(
        "rotate_after_days a word",
        {"user_name": BOB, "state": "active", "rotate_after_days": "ninety"},
        "rotate_after_days",
    ),
    case(
        "rotate_after_days zero",
        {"user_name": BOB, "state": "active", "rotate_after_days": 0},
        "rotate_after_days",
        "0",
    ),
    case(
        "rotate_after_days negative",
        {"user_name": BOB, "state": "active", "rotate_after_days": -90},
        "rotate_after_days",
    ),
    case(
        "rotate_after_days a fraction",
        {"user_name": BOB, "state": "active", "rotate_after_days": 0.5},
        "rotate_after_days",
    ),
    # --- previous_keys, previous_keys_idle_hours ---
    case("previous_keys unknown", {"user_name": BOB, "previous_keys": "purge"}, "previous_keys", "purge"),
    case("previous_keys a bool", {"user_name": BOB, "previous_keys": True}, "previous_keys"),
    case(
        "previous_keys_idle_hours negative",
        {"user_name": BOB, "previous_keys": "delete", "previous_keys_idle_hours": -1},
        "previous_keys_idle_hours",
    ),
    case(
        "previous_keys_idle_hours a word",
        {"user_name": BOB, "previous_keys": "delete", "previous_keys_idle_hours": "a day"},
        "previous_keys_idle_hours",
    ),
    # --- conflicting options ---
    case(
        "id with rotate_after_days",
        {"user_name": BOB, "id": BOB_KEY, "rotate_after_days": 1},
        "rotate_after_days",
        "id",
    ),
    case("id with previous_keys", {"id": BOB_KEY, "state": "active", "previous_keys": "delete"}, "previous_keys", "id"),
    case(
        "id with previous_keys_idle_hours",
        {"id": BOB_KEY, "previous_keys_idle_hours": 1},
        "previous_keys_idle_hours",
        "id",
    ),
    case(
        "rotate_after_days with state=inactive",
        {"user_name": BOB, "state": "inactive", "rotate_after_days": 1},
        "rotate_after_days",
        "state",
    ),
    case(
        "previous_keys with state=absent",
        {"user_name": BOB, "state": "absent", "previous_keys": "keep", "rotate_after_days": 30},
        "rotate_after_days",
        "state",
    ),
    case("neither user_name nor id", {"state": "active"}, "user_name", "id"),
    case("an unknown option", {"user_name": ALICE, "rotate_days": 30}, "rotate_days"),
    # --- connection options ---
    case("profile with explicit keys", {"user_name": ALICE, "profile": "audit"}, "profile", "access_key"),
    case(
        "profile with a session_token",
        {
            "user_name": ALICE,
            "profile": "audit",
            "access_key": "",
            "secret_key": "",
            "session_token": "FwoGZXIvYXdzEXAMPLE",
        },
        "profile",
        "session_token",
    ),
    case("access_key without secret_key", {"user_name": ALICE, "secret_key": ""}, "secret_key", "access_key"),
    case("secret_key without access_key", {"user_name": ALICE, "access_key": ""}, "access_key", "secret_key"),
    case("validate_certs not a bool", {"user_name": ALICE, "validate_certs": "maybe"}, "validate_certs"),
    case("aws_config not a dict", {"user_name": ALICE, "aws_config": "fast please"}, "aws_config"),
    case(
        "aws_config unknown option",
        {"user_name": ALICE, "aws_config": {"retries_please": 3}},
        "aws_config",
        "retries_please",
    ),
    case(
        "aws_config bad retry mode",
        {"user_name": ALICE, "aws_config": {"retries": {"mode": "turbo"}}},
        "aws_config",
        "turbo",
    ),
    case(
        "aws_config zero attempts",
        {"user_name": ALICE, "aws_config": {"retries": {"total_max_attempts": 0}}},
        "aws_config",
        "total_max_attempts",
    ),
    case(
        "aws_config read_timeout a word",
        {"user_name": ALICE, "aws_config": {"read_timeout": "slow"}},
        "aws_config",
        "read_timeout",
    ),
    case(
        "aws_ca_bundle missing",
        {"user_name": ALICE, "endpoint_url": "{{ https_endpoint }}", "aws_ca_bundle": "/nonexistent/ca-bundle.pem"},
        "aws_ca_bundle",
        "/nonexistent/ca-bundle.pem",
    ),
    case("endpoint_url not a URL", {"user_name": ALICE, "endpoint_url": "not a url"}, "endpoint_url"),
    case("region malformed", {"user_name": ALICE, "region": "us east 1"}, "region"),
    # --- iam_access_key_info ---
    info("info: user_name empty", {"user_name": ""}, "user_name", "not a valid IAM user name"),
    info("info: user_name 65 characters", {"user_name": LONG_NAME}, "user_name"),
    info("info: user_name with a space", {"user_name": "bob smith"}, "user_name"),
    info("info: id empty", {"id": ""}, "id", "not a valid access key id"),
    info("info: id malformed", {"id": "AKIA-1234-5678-9012"}, "id"),
    info("info: path_prefix with user_name", {"path_prefix": "/", "user_name": BOB}, "path_prefix", "user_name"),
    info("info: path_prefix with id", {"path_prefix": "/", "id": BOB_KEY}, "path_prefix", "id"),
    info("info: path_prefix without slashes", {"path_prefix": "service"}, "path_prefix", "service"),
    info("info: status unknown", {"status": "active"}, "status", "active"),
    info("info: status a list", {"status": ["Active"]}, "status"),
    info("info: older_than_days negative", {"older_than_days": -1}, "older_than_days"),
    info("info: older_than_days a word", {"older_than_days": "old"}, "older_than_days"),
    info("info: unused_for_days negative", {"unused_for_days": -7}, "unused_for_days"),
    info("info: unused_for_days a word", {"unused_for_days": "a week"}, "unused_for_days"),
    info(
        "info: unused_for_days without last use",
        {"unused_for_days": 30, "include_last_used": False},
        "unused_for_days",
        "include_last_used",
    ),
    info("info: include_last_used not a bool", {"include_last_used": "sometimes"}, "include_last_used"),
    info("info: exact_last_used not a bool", {"exact_last_used": "perhaps"}, "exact_last_used"),
    info("info: max_workers zero", {"max_workers": 0}, "max_workers", "64"),
    info("info: max_workers 65", {"max_workers": 65}, "max_workers", "64"),
    info("info: max_workers a word", {"max_workers": "many"}, "max_workers"),
    info("info: an unknown option", {"users": [BOB]}, "users"),
    info("info: profile with explicit keys", {"profile": "audit"}, "profile", "access_key"),
    info("info: aws_config unknown option", {"aws_config": {"retry": 3}}, "aws_config", "retry"),
    info("info: validate_certs not a bool", {"validate_certs": "maybe"}, "validate_certs"),
    info("info: endpoint_url not a URL", {"endpoint_url": "not a url"}, "endpoint_url"),
    info("info: region malformed", {"region": "us east 1"}, "region"),
]


class CallsByTask:
    """Proxy rule attributing each call to the task running when it came: the number of task records the harness's
    callback has written so far (one per finished task) is the index of the running task."""

    def __init__(self, results_file: Path):
        self.results_file = results_file
        self.calls: list[tuple[int, str | None, dict[str, str]]] = []

    def __call__(self, request) -> None:
        try:
            index = len(self.results_file.read_text(encoding="utf-8").splitlines())
        except FileNotFoundError:
            index = 0
        self.calls.append((index, request.action, dict(request.params)))
        return None


def conftest_attribute(config, name: str):
    """An attribute of tests/integration/conftest.py (PlaybookRunner, make_iam_client) for a module-scoped run."""
    for plugin in config.pluginmanager.get_plugins():
        if hasattr(plugin, name) and str(getattr(plugin, "__file__", "")).endswith("conftest.py"):
            return getattr(plugin, name)
    raise LookupError(name)


@dataclasses.dataclass
class Runs:
    outcomes: dict[str, dict[str, dict[str, Any]]]  # path -> case name -> task result
    calls: dict[str, dict[str, list[str]]]  # path -> case name -> "Action UserName=..." of each call it made
    unattributed: list[str]
    every_action: list[str | None]
    before: dict[str, Any]
    after: dict[str, Any]
    keys_made: set[str]
    bob_key: str


# The module path starts a Python process per task (about half a second each); its cases run in two playbooks at once.
CHUNKS = (("in-process", CASES), ("module", CASES[0::2]), ("module", CASES[1::2]))


@pytest.fixture(scope="module")
def runs(request, moto_server, tmp_path_factory) -> Runs:
    """Every case once per execution path: three ansible-playbook runs at once (in-process, and the module path in
    two halves), each through its own recording proxy; run once for the whole test module."""
    playbook_runner = conftest_attribute(request.config, "PlaybookRunner")
    iam = conftest_attribute(request.config, "make_iam_client")(moto_server.url)
    moto_server.reset()
    iam.create_user(UserName=ALICE)
    iam.create_user(UserName=BOB)
    bob_key = iam.create_access_key(UserName=BOB)["AccessKey"]["AccessKeyId"]
    before = read_iam(iam, [ALICE, BOB])
    proxies = [iam_proxy.IamProxy(moto_server.url).start() for _chunk in CHUNKS]
    runners = [playbook_runner(tmp_path_factory.mktemp("bad-input"), proxy.url) for proxy in proxies]
    rules = [CallsByTask(runner.tmp_path / "playbook-1" / "results.jsonl") for runner in runners]  # first runs

    def run(index: int):
        path, cases = CHUNKS[index]
        proxies[index].add_rule(rules[index])
        tasks = [{"name": item.name, item.module: item.options, "ignore_errors": True} for item in cases]
        # one https URL for all, so messages compare equal (TLS fails before any request reaches a proxy)
        extra_vars = {"bob_key": bob_key, "https_endpoint": f"https://127.0.0.1:{proxies[0].port}"}
        return runners[index](tasks, env=PATHS[path], extra_vars=extra_vars)

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(CHUNKS)) as pool:
            results = list(pool.map(run, range(len(CHUNKS))))
    finally:
        for proxy in proxies:
            proxy.stop()

    outcomes: dict[str, dict[str, dict[str, Any]]] = {path: {} for path in PATHS}
    calls: dict[str, dict[str, list[str]]] = {path: {} for path in PATHS}
    unattributed = []
    for (path, cases), result, rule in zip(CHUNKS, results, rules):
        assert result.rc == 0, result.summary()
        for item in cases:
            outcomes[path][item.name] = result.task(item.name)
            calls[path][item.name] = []
        for index, action, params in rule.calls:
            described = f"{action} UserName={params.get('UserName')} AccessKeyId={params.get('AccessKeyId')}"
            if index < len(cases):
                calls[path][cases[index].name].append(described)
            else:
                unattributed.append(f"[{path}] {described}")
    return Runs(
        outcomes=outcomes,
        calls=calls,
        unattributed=unattributed,
        every_action=[action for proxy in proxies for action in proxy.actions()],
        before=before,
        after=read_iam(iam, [ALICE, BOB]),
        keys_made=set(moto_keys(moto_server)),
        bob_key=bob_key,
    )


BOOLEANS = re.compile(r"(Valid booleans include: )(.*)$")


def normalised(msg: str) -> str:
    """Ansible lists the valid booleans from a set, in an order that changes from process to process: sort them."""
    return BOOLEANS.sub(lambda match: match.group(1) + ", ".join(sorted(match.group(2).split(", "))), msg)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("item", CASES, ids=[item.name for item in CASES])
def test_bad_input_fails_clearly_before_any_call(item: Case, path: str, runs: Runs):
    outcome = runs.outcomes[path][item.name]
    msg = str(outcome.get("msg", ""))
    assert outcome["failed"] is True, outcome
    assert outcome["changed"] is False
    assert outcome.get("exception", NO_TRACEBACK) == NO_TRACEBACK and "module_stderr" not in outcome, outcome
    assert msg.strip() and "\n" not in msg, msg
    assert runs.calls[path][item.name] == []  # not one IAM call, so certainly no write
    assert "secret_access_key" not in outcome
    missing = [word for word in item.mentions if word not in msg]
    assert missing == [], f"the message does not name {missing}: {msg}"


@pytest.mark.parametrize("item", CASES, ids=[item.name for item in CASES])
def test_bad_input_message_is_the_same_on_both_paths(item: Case, runs: Runs):
    in_process = normalised(str(runs.outcomes["in-process"][item.name].get("msg")))
    module = normalised(str(runs.outcomes["module"][item.name].get("msg")))
    assert in_process == module


def test_bad_input_changed_nothing(runs: Runs):
    assert len({item.name for item in CASES}) == len(CASES)
    assert runs.unattributed == []
    assert not any(action in WRITE_ACTIONS for action in runs.every_action), runs.every_action
    assert runs.after == runs.before
    assert runs.keys_made == {runs.bob_key}  # no key was ever made, not even one deleted again
