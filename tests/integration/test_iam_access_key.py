# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import json
from typing import Any

import aws_clients
import botocore.exceptions
import iam_proxy
import pytest
from helpers import WRITE_ACTIONS, Checkpoints, UserState, allow, closed_port, iam_client, moto_auth

# keyguard.aws.iam_access_key driven by the real ansible-playbook against the moto server, through the recording
# proxy. One playbook run holds the steps of a case (check mode, real run, re-run); checkpoints between the tasks
# read IAM with boto3 and mark the proxy's calls, so every step is checked against IAM on its own.

MODULE = "keyguard.aws.iam_access_key"
USER = "alice"
OTHER = "bob"
GHOST = "ghost"  # never created
USERS = (USER, OTHER, GHOST)
MISSING_ID = "AKIAIOSFODNN7EXAMPLE"  # well-formed, never issued by moto
TEAM_TAG = {"Key": "team", "Value": "payments"}  # an unrelated user tag every test must leave alone
NEW = "new"  # in a Row: the key the task creates
NO_TRACEBACK = "(traceback unavailable)"
# On a local connection the action plugin runs the module's code in the controller's worker process; this task
# variable makes it run the module as usual (a Python process per task). Both paths must behave the same.
AS_MODULE = {"keyguard_aws_in_process": False}
PATH_MESSAGES = {
    "in-process": "keyguard.aws.iam_access_key: running in-process on the controller",
    "module": "keyguard.aws.iam_access_key: running the module (keyguard_aws_in_process is false)",
}
# Calls that name the user they act on; the module must always send UserName (IAM falls back to the caller).
USER_SCOPED_ACTIONS = frozenset(
    {"ListAccessKeys", "ListUserTags", "CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey", "TagUser", "UntagUser"}
)


@pytest.fixture
def checkpoints(proxy, iam):
    with Checkpoints(proxy, iam, USERS) as points:
        yield points


def arrange(iam, user_name: str, *keys: tuple[str, str | None]) -> list[str]:
    """Create ``user_name`` (tagged team=payments) with one key per (status, description); return the key ids."""
    iam.create_user(UserName=user_name, Tags=[TEAM_TAG])
    key_ids = []
    for status, description in keys:
        key_id = iam.create_access_key(UserName=user_name)["AccessKey"]["AccessKeyId"]
        if status != "Active":
            iam.update_access_key(UserName=user_name, AccessKeyId=key_id, Status=status)
        if description is not None:
            iam.tag_user(UserName=user_name, Tags=[{"Key": key_id, "Value": description}])
        key_ids.append(key_id)
    return key_ids


def task(name: str, check_mode: bool = False, ignore_errors: bool = False, **options: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"name": name, MODULE: options}
    if check_mode:
        result["check_mode"] = True
    if ignore_errors:
        result["ignore_errors"] = True
    return result


def assert_user_name_sent(calls: list[Any], user_name: str) -> None:
    """Every call about a user's keys named the user explicitly."""
    scoped = [call for call in calls if call.action in USER_SCOPED_ACTIONS]
    assert scoped, "no user-scoped call was made"
    assert [call.params.get("UserName") for call in scoped] == [user_name] * len(scoped), [
        (call.action, call.params.get("UserName")) for call in scoped
    ]


def assert_failed(result, checkpoints: Checkpoints, name: str, message: str | None = None, attempted=()) -> str:
    """Task ``name`` failed with a one-line message and no traceback, and IAM did not change.

    ``attempted``: the write calls it tried and IAM refused; no other write call was made.
    """
    record = result.record(name)
    outcome = record["result"]
    assert record["status"] == "failed", outcome
    assert outcome["changed"] is False
    msg = outcome["msg"]
    if message is not None:
        assert msg == message
    assert msg.strip() and "\n" not in msg
    assert outcome.get("exception", NO_TRACEBACK) == NO_TRACEBACK
    assert "Traceback" not in json.dumps(outcome)
    assert "module_stderr" not in outcome and "module_stdout" not in outcome
    assert "secret_access_key" not in outcome
    assert checkpoints.writes(name) == list(attempted)
    assert all(call.status == 403 for call in checkpoints.calls(name) if call.action in WRITE_ACTIONS)
    assert checkpoints.state(name) == checkpoints.before(name)
    return msg


@dataclasses.dataclass(frozen=True)
class SecretProbe:
    """What IAM answered about a key and its secret (see ``probe_secrets``)."""

    used_before: dict[str, Any]  # AccessKeyLastUsed before the signed requests
    listed: list[str]  # the key ids a ListAccessKeys request signed with the secret returned
    listed_error: str | None  # that request's error code, when it was refused
    refused: str | None  # the error code of the request signed with a slightly different secret (None: accepted)
    used_after: dict[str, Any]  # GetAccessKeyLastUsed after the requests


def probe_secrets(moto, iam, keys: list[tuple[str, str, str]]) -> dict[str, SecretProbe]:
    """For each (user_name, key_id, secret): while moto checks signatures, a ListAccessKeys request signed with the
    secret and one signed with a slightly different secret; IAM's record of the key's last use before and after.
    One moto_auth block for all the keys; each user gets a policy allowing iam:ListAccessKeys for the while."""
    used_before = {
        key_id: iam.get_access_key_last_used(AccessKeyId=key_id)["AccessKeyLastUsed"] for _user, key_id, _secret in keys
    }
    for user_name, _key_id, _secret in keys:
        iam.put_user_policy(UserName=user_name, PolicyName="list-keys", PolicyDocument=allow("iam:ListAccessKeys"))
    answers: dict[str, tuple[list[str], str | None, str | None]] = {}
    with moto_auth(moto.url):
        for user_name, key_id, secret in keys:
            listed, listed_error, refused = [], None, None
            try:
                metadata = iam_client(moto.url, key_id, secret).list_access_keys(UserName=user_name)
                listed = [item["AccessKeyId"] for item in metadata["AccessKeyMetadata"]]
            except botocore.exceptions.ClientError as exc:
                listed_error = exc.response["Error"]["Code"]
            wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
            try:
                iam_client(moto.url, key_id, wrong).list_access_keys(UserName=user_name)
            except botocore.exceptions.ClientError as exc:
                refused = exc.response["Error"]["Code"]
            answers[key_id] = (listed, listed_error, refused)
    probes = {}
    for user_name, key_id, _secret in keys:
        used_after = iam.get_access_key_last_used(AccessKeyId=key_id)
        iam.delete_user_policy(UserName=user_name, PolicyName="list-keys")
        probes[key_id] = SecretProbe(used_before[key_id], *answers[key_id], used_after)
    return probes


def assert_secret_works(probe: SecretProbe | None, user_name: str, key_id: str) -> None:
    """The probed secret is the real secret of ``key_id``: with moto checking signatures, a request signed with it was
    accepted (and IAM recorded the key's use) while one signed with a slightly different secret was refused."""
    assert probe is not None, f"the secret of {key_id} was not probed"
    assert "LastUsedDate" not in probe.used_before
    assert probe.listed_error is None
    assert key_id in probe.listed
    assert probe.refused == "SignatureDoesNotMatch"
    assert probe.used_after["UserName"] == user_name
    assert probe.used_after["AccessKeyLastUsed"]["ServiceName"] == "iam"
    assert probe.used_after["AccessKeyLastUsed"]["LastUsedDate"]


def assert_key_was_used(iam, key_id: str) -> None:
    last_used = iam.get_access_key_last_used(AccessKeyId=key_id)["AccessKeyLastUsed"]
    assert last_used.get("LastUsedDate") and last_used["ServiceName"] == "iam", last_used


def assert_key_not_used(iam, key_id: str) -> None:
    assert "LastUsedDate" not in iam.get_access_key_last_used(AccessKeyId=key_id)["AccessKeyLastUsed"]


# --------------------------------------------------------------------------------------------
# The rows of the spec: check mode, real run, re-run, each read back from IAM
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Row:
    """One case. Key references are indexes into ``keys`` (alice's keys before the task), or NEW."""

    keys: tuple[tuple[str, str | None], ...]  # (status, description) of alice's keys, oldest first
    options: dict[str, Any]  # task options besides user_name; an "id" is an index into keys
    actions: tuple[tuple[str, int | str], ...]  # the (action, key) the task reports
    writes: tuple[str, ...]  # the IAM write calls of the real run, in order
    after: tuple[tuple[int | str, str, str | None], ...]  # (key, status, description) of alice's keys after
    focus: int | str | None  # the key RV(access_key) is about; None when it is not returned


ROWS = [
    # --- with id: the task is about that one key
    pytest.param(
        Row(
            keys=(("Inactive", None),),
            options={"id": 0, "state": "present"},
            actions=(),
            writes=(),
            after=((0, "Inactive", None),),
            focus=0,
        ),
        id="id-present-leaves-status",
    ),
    pytest.param(
        Row(
            keys=(("Inactive", "ci"),),
            options={"id": 0, "state": "active"},
            actions=(("activate", 0),),
            writes=("UpdateAccessKey",),
            after=((0, "Active", "ci"),),
            focus=0,
        ),
        id="id-active",
    ),
    pytest.param(
        Row(
            keys=(("Active", None), ("Active", "other")),
            options={"id": 1, "state": "inactive"},
            actions=(("deactivate", 1),),
            writes=("UpdateAccessKey",),
            after=((0, "Active", None), (1, "Inactive", "other")),
            focus=1,
        ),
        id="id-inactive",
    ),
    pytest.param(
        Row(
            keys=(("Active", "ci"), ("Active", "other")),
            options={"id": 0, "state": "absent"},
            actions=(("delete", 0),),
            writes=("DeleteAccessKey", "UntagUser"),
            after=((1, "Active", "other"),),
            focus=None,
        ),
        id="id-absent-with-description",
    ),
    pytest.param(
        Row(
            keys=(("Inactive", None),),
            options={"id": 0, "state": "absent"},
            actions=(("delete", 0),),
            writes=("DeleteAccessKey",),
            after=(),
            focus=None,
        ),
        id="id-absent-without-description",
    ),
    pytest.param(
        Row(
            keys=(("Active", None), ("Active", "other")),
            options={"id": 0, "description": "deploy key"},
            actions=(("describe", 0),),
            writes=("TagUser",),
            after=((0, "Active", "deploy key"), (1, "Active", "other")),
            focus=0,
        ),
        id="id-description-set",
    ),
    pytest.param(
        Row(
            keys=(("Active", "old name"),),
            options={"id": 0, "state": "inactive", "description": "new name"},
            actions=(("deactivate", 0), ("describe", 0)),
            writes=("UpdateAccessKey", "TagUser"),
            after=((0, "Inactive", "new name"),),
            focus=0,
        ),
        id="id-description-update-and-inactive",
    ),
    # --- without id: all of the user's keys are in scope
    pytest.param(
        Row(
            keys=(),
            options={"state": "present"},
            actions=(("create", NEW),),
            writes=("CreateAccessKey",),
            after=((NEW, "Active", None),),
            focus=NEW,
        ),
        id="present-creates",
    ),
    pytest.param(
        Row(
            keys=(("Inactive", None),),
            options={"state": "present"},
            actions=(),
            writes=(),
            after=((0, "Inactive", None),),
            focus=0,
        ),
        id="present-satisfied-by-inactive-key",
    ),
    pytest.param(
        Row(
            keys=(("Inactive", None),),
            options={"state": "active"},
            actions=(("create", NEW),),
            writes=("CreateAccessKey",),
            after=((0, "Inactive", None), (NEW, "Active", None)),
            focus=NEW,
        ),
        id="active-creates-never-reactivates",
    ),
    pytest.param(
        Row(
            keys=(("Active", "ci"), ("Inactive", None)),
            options={"state": "active"},
            actions=(),
            writes=(),
            after=((0, "Active", "ci"), (1, "Inactive", None)),
            focus=0,
        ),
        id="active-satisfied",
    ),
    pytest.param(
        Row(
            keys=(("Active", "ci"), ("Inactive", None)),
            options={"state": "inactive"},
            actions=(("deactivate", 0),),
            writes=("UpdateAccessKey",),
            after=((0, "Inactive", "ci"), (1, "Inactive", None)),
            focus=1,
        ),
        id="inactive",
    ),
    pytest.param(
        Row(
            keys=(("Active", "ci"), ("Inactive", None)),
            options={"state": "absent"},
            actions=(("delete", 0), ("delete", 1)),
            writes=("DeleteAccessKey", "UntagUser", "DeleteAccessKey"),
            after=(),
            focus=None,
        ),
        id="absent",
    ),
    # --- without id, with description: only the keys with that description are in scope
    pytest.param(
        Row(
            keys=(("Active", "other"),),
            options={"state": "present", "description": "ci"},
            actions=(("create", NEW), ("describe", NEW)),
            writes=("CreateAccessKey", "TagUser"),
            after=((0, "Active", "other"), (NEW, "Active", "ci")),
            focus=NEW,
        ),
        id="scope-present-creates",
    ),
    pytest.param(
        Row(
            keys=(("Inactive", "ci"),),
            options={"state": "active", "description": "ci"},
            actions=(("create", NEW), ("describe", NEW)),
            writes=("CreateAccessKey", "TagUser"),
            after=((0, "Inactive", "ci"), (NEW, "Active", "ci")),
            focus=NEW,
        ),
        id="scope-active-creates-never-reactivates",
    ),
    pytest.param(
        Row(
            keys=(("Active", "ci"), ("Active", "other")),
            options={"state": "inactive", "description": "ci"},
            actions=(("deactivate", 0),),
            writes=("UpdateAccessKey",),
            after=((0, "Inactive", "ci"), (1, "Active", "other")),
            focus=0,
        ),
        id="scope-inactive",
    ),
    pytest.param(
        Row(
            keys=(("Active", "other"), ("Inactive", "ci")),
            options={"state": "absent", "description": "ci"},
            actions=(("delete", 1),),
            writes=("DeleteAccessKey", "UntagUser"),
            after=((0, "Active", "other"),),
            focus=None,
        ),
        id="scope-absent",
    ),
]


def _ref(ref: int | str, key_ids: list[str], new_id: str | None) -> str | None:
    return new_id if ref == NEW else key_ids[ref]


def _expected_actions(row: Row, key_ids: list[str], new_id: str | None) -> list[dict[str, Any]]:
    return [{"action": action, "access_key_id": _ref(ref, key_ids, new_id)} for action, ref in row.actions]


def _predicted_keys(row: Row, user_name: str, key_ids: list[str], before: UserState) -> list[dict[str, Any]]:
    """What check mode must report as the keys after the task: a key to be created has no id and no date."""
    predicted = []
    for ref, status, description in row.after:
        if ref == NEW:
            key = {"access_key_id": None, "user_name": user_name, "create_date": None}
        else:
            key = dict(before.key(key_ids[ref]))
        predicted.append({**key, "status": status, "description": description})
    return predicted


# The rows run batched: one ansible-playbook run holds every row of test_state (on the suite's execution path), another
# the rows of test_state_as_module; each row has users of its own (alice-<batch>-N, bob-<batch>-N) and checkpoints of
# its own. The two runs happen once, at the same time, in a module fixture (each through its own recording proxy); then
# one test per row checks that row's steps. Every task has ignore_errors, so one failing row does not hide the others:
# each row's test asserts that its own tasks did not fail.
ROW_BY_ID = {param.id: param.values[0] for param in ROWS}
AS_MODULE_ROW_IDS = ("id-absent-with-description", "scope-present-creates")
STATE_BATCHES = {"suite-path": (tuple(ROW_BY_ID), None), "as-module": (AS_MODULE_ROW_IDS, AS_MODULE)}
STEPS = ("check", "apply", "re-run")
# One xdist worker runs the rows (with --dist loadgroup), so the module fixture runs once.
state_group = pytest.mark.xdist_group("iam_access_key_state")


@dataclasses.dataclass
class RowRun:
    """One row's part of a batched run."""

    row_id: str
    user: str  # the row's alice
    other: str  # the row's bob: same description, other user, never in scope
    key_ids: list[str]  # the user's keys as arranged, oldest first
    checkpoints: Checkpoints
    result: Any = None  # the PlaybookResult of the whole batch
    probe: SecretProbe | None = None  # the secret of the key the real run created, probed after the run

    def step(self, name: str) -> str:
        """The name of this row's task (and checkpoint) ``name``."""
        return f"{self.row_id}: {name}"

    def options(self) -> dict[str, Any]:
        row = ROW_BY_ID[self.row_id]
        options = {"user_name": self.user, **row.options}
        if "id" in options:
            options["id"] = self.key_ids[options["id"]]
        return options

    def tasks(self) -> list[dict[str, Any]]:
        options = self.options()
        steps = [
            task(self.step("check"), check_mode=True, ignore_errors=True, **options),
            task(self.step("apply"), ignore_errors=True, **options),
            task(self.step("re-run"), ignore_errors=True, **options),
        ]
        return self.checkpoints.around(steps, start=self.step("start"))

    def created(self) -> tuple[str, str] | None:
        """(key id, returned secret) when the real run made exactly one new key and returned a secret."""
        after = self.checkpoints.state(self.step("apply"))[self.user]
        new_ids = [key_id for key_id in after.key_ids if key_id not in self.key_ids]
        secret = self.result.task(self.step("apply")).get("secret_access_key")
        return (new_ids[0], secret) if len(new_ids) == 1 and secret else None


def run_state_batch(moto_server, iam, new_playbook_runner, batch: str) -> dict[str, RowRun]:
    """Arrange every row of ``batch`` on users of its own and run them all in one playbook."""
    row_ids, extra_vars = STATE_BATCHES[batch]
    proxy = iam_proxy.IamProxy(moto_server.url, seed=0).start()
    runs = {}
    try:
        with contextlib.ExitStack() as stack:
            for index, row_id in enumerate(row_ids, start=1):
                user, other = f"{USER}-{batch}-{index}", f"{OTHER}-{batch}-{index}"
                key_ids = arrange(iam, user, *ROW_BY_ID[row_id].keys)
                arrange(iam, other, ("Active", "ci"))
                points = stack.enter_context(Checkpoints(proxy, iam, (user, other, GHOST)))
                runs[row_id] = RowRun(row_id, user, other, key_ids, points)
            tasks = [step for run in runs.values() for step in run.tasks()]
            result = new_playbook_runner(proxy.url)(tasks, diff=True, extra_vars=extra_vars)
    finally:
        proxy.stop()
    for run in runs.values():
        run.result = result
    return runs


@pytest.fixture(scope="module")
def state_runs(moto_server, new_playbook_runner) -> dict[str, dict[str, RowRun]]:
    """batch -> row id -> RowRun: both batches run once, at the same time, for the whole test module; then the secret
    of every key a real run created is probed (one moto_auth block: moto checks signatures for everyone meanwhile)."""
    moto_server.reset()
    iam = aws_clients.iam_client(moto_server.url)
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(STATE_BATCHES)) as pool:
        futures = {
            batch: pool.submit(run_state_batch, moto_server, iam, new_playbook_runner, batch) for batch in STATE_BATCHES
        }
        batches = {batch: future.result() for batch, future in futures.items()}
    made = [
        (run, *created)
        for runs in batches.values()
        for run in runs.values()
        if run.step("apply") in run.checkpoints.taken and (created := run.created()) is not None
    ]
    probes = probe_secrets(moto_server, iam, [(run.user, key_id, secret) for run, key_id, secret in made])
    for run, key_id, _secret in made:
        run.probe = probes[key_id]
    return batches


def check_row(row: Row, run: RowRun) -> None:
    result, checkpoints, user, other, key_ids = run.result, run.checkpoints, run.user, run.other, run.key_ids
    check_name, apply_name, rerun_name = (run.step(name) for name in STEPS)
    assert checkpoints.errors == [], checkpoints.errors
    for name in (check_name, apply_name, rerun_name):
        record = result.record(name)
        assert record["status"] in ("ok", "changed"), f"{name}: {record['result']}\n{result.summary()}"
    start = checkpoints.state(run.step("start"))
    assert start[user].key_ids == key_ids
    changed = bool(row.actions)

    # check mode: reports what the real run will do, changes nothing, makes no write call
    check = result.task(check_name)
    assert result.record(check_name)["check_mode"] is True
    assert check["changed"] is changed
    assert check["user_name"] == user
    assert check["actions"] == _expected_actions(row, key_ids, None)
    predicted = _predicted_keys(row, user, key_ids, start[user])
    assert check["access_keys"] == predicted
    assert check["diff"] == {"before": {"access_keys": start[user].keys}, "after": {"access_keys": predicted}}
    if row.focus is None:
        assert "access_key" not in check
    else:
        focus_index = [ref for ref, _status, _description in row.after].index(row.focus)
        assert check["access_key"] == predicted[focus_index]
    assert "secret_access_key" not in check
    assert checkpoints.writes(check_name) == []
    assert checkpoints.state(check_name) == start

    # real run: IAM read back with boto3 is what the task says it did
    applied = result.task(apply_name)
    after = checkpoints.state(apply_name)
    created = [key_id for key_id in after[user].key_ids if key_id not in key_ids]
    assert len(created) == (1 if ("create", NEW) in row.actions else 0), after[user].summary()
    new_id = created[0] if created else None
    assert applied["changed"] is changed
    assert applied["user_name"] == user
    assert applied["actions"] == _expected_actions(row, key_ids, new_id)
    assert checkpoints.writes(apply_name) == list(row.writes)
    expected_after = [(_ref(ref, key_ids, new_id), status, description) for ref, status, description in row.after]
    assert after[user].summary() == expected_after
    descriptions = {key_id: description for key_id, _status, description in expected_after if description}
    assert after[user].tags == {TEAM_TAG["Key"]: TEAM_TAG["Value"], **descriptions}
    assert after[other] == start[other]
    assert applied["access_keys"] == after[user].keys
    assert applied["diff"] == {"before": {"access_keys": start[user].keys}, "after": {"access_keys": after[user].keys}}
    if row.focus is None:
        assert "access_key" not in applied
    else:
        assert applied["access_key"] == after[user].key(_ref(row.focus, key_ids, new_id))
    if new_id is None:
        assert "secret_access_key" not in applied
    else:
        secret = applied["secret_access_key"]
        assert secret not in json.dumps(applied["diff"])
        assert secret not in result.stdout  # the printed diffs
        assert_secret_works(run.probe, user, new_id)

    # re-run: nothing to do, no write call, no second key
    rerun = result.task(rerun_name)
    assert rerun["changed"] is False
    assert rerun["actions"] == []
    assert checkpoints.actions(rerun_name)  # it did read IAM
    assert checkpoints.writes(rerun_name) == []
    assert checkpoints.state(rerun_name) == after
    assert rerun["access_keys"] == after[user].keys
    assert rerun["diff"] == {"before": {"access_keys": after[user].keys}, "after": {"access_keys": after[user].keys}}
    assert rerun.get("access_key") == applied.get("access_key")
    assert "secret_access_key" not in rerun

    for name in (check_name, apply_name, rerun_name):
        assert_user_name_sent(checkpoints.calls(name), user)


@state_group
@pytest.mark.parametrize("row_id", list(ROW_BY_ID))
def test_state(row_id: str, state_runs):
    check_row(ROW_BY_ID[row_id], state_runs["suite-path"][row_id])


@state_group
@pytest.mark.parametrize("row_id", AS_MODULE_ROW_IDS)
def test_state_as_module(row_id: str, state_runs):
    """The same through the module (a Python process per task) instead of the in-process action plugin."""
    check_row(ROW_BY_ID[row_id], state_runs["as-module"][row_id])


def test_id_alone_looks_up_the_owner(run_playbook, iam, checkpoints):
    ci_key, spare_key = arrange(iam, OTHER, ("Active", "ci"), ("Active", None))
    (alice_key,) = arrange(iam, USER, ("Active", None))
    deactivate = {"id": spare_key, "state": "inactive", "description": "spare"}
    delete = {"id": ci_key, "state": "absent"}
    tasks = [
        task("deactivate (check)", check_mode=True, **deactivate),
        task("deactivate", **deactivate),
        task("deactivate again", **deactivate),
        task("delete (check)", check_mode=True, **delete),
        task("delete", **delete),
        task("delete again", **delete),
    ]

    result = run_playbook(checkpoints.around(tasks), diff=True)

    assert result.rc == 0, result.summary()
    start = checkpoints.state("start")
    for name in ("deactivate (check)", "deactivate", "deactivate again", "delete (check)", "delete"):
        assert result.task(name)["user_name"] == OTHER, name
        calls = checkpoints.calls(name)
        # the owner is looked up first (GetAccessKeyLastUsed names it), then only its keys are read and changed
        assert calls[0].action == "GetAccessKeyLastUsed", name
        assert calls[0].params["AccessKeyId"] == (spare_key if name.startswith("deactivate") else ci_key)
        assert_user_name_sent(calls, OTHER)
        assert checkpoints.state(name)[USER] == start[USER]
        assert checkpoints.state(name)[USER].summary() == [(alice_key, "Active", None)]

    assert result.task("deactivate (check)")["actions"] == [
        {"action": "deactivate", "access_key_id": spare_key},
        {"action": "describe", "access_key_id": spare_key},
    ]
    assert checkpoints.writes("deactivate (check)") == []
    assert checkpoints.state("deactivate (check)") == start

    deactivated = result.task("deactivate")
    assert deactivated["changed"] is True
    assert deactivated["actions"] == result.task("deactivate (check)")["actions"]
    assert checkpoints.writes("deactivate") == ["UpdateAccessKey", "TagUser"]
    after_deactivate = checkpoints.state("deactivate")[OTHER]
    assert after_deactivate.summary() == [(ci_key, "Active", "ci"), (spare_key, "Inactive", "spare")]
    assert deactivated["access_key"] == after_deactivate.key(spare_key)
    assert deactivated["access_keys"] == after_deactivate.keys

    again = result.task("deactivate again")
    assert again["changed"] is False and again["actions"] == []
    assert checkpoints.writes("deactivate again") == []
    assert checkpoints.state("deactivate again") == checkpoints.state("deactivate")

    assert result.task("delete (check)")["actions"] == [{"action": "delete", "access_key_id": ci_key}]
    assert result.task("delete (check)")["changed"] is True
    assert checkpoints.writes("delete (check)") == []
    assert checkpoints.state("delete (check)") == checkpoints.state("deactivate again")

    deleted = result.task("delete")
    assert deleted["changed"] is True
    assert deleted["actions"] == [{"action": "delete", "access_key_id": ci_key}]
    assert checkpoints.writes("delete") == ["DeleteAccessKey", "UntagUser"]
    after_delete = checkpoints.state("delete")[OTHER]
    assert after_delete.summary() == [(spare_key, "Inactive", "spare")]
    assert after_delete.tags == {TEAM_TAG["Key"]: TEAM_TAG["Value"], spare_key: "spare"}
    assert "access_key" not in deleted
    assert deleted["access_keys"] == after_delete.keys

    gone = result.task("delete again")  # the key no longer exists, so its owner cannot be looked up: still ok
    assert gone["changed"] is False and gone["actions"] == []
    assert checkpoints.writes("delete again") == []
    assert checkpoints.state("delete again") == checkpoints.state("delete")


# --------------------------------------------------------------------------------------------
# Errors: a clear one-line message, no traceback, IAM unchanged, check mode fails the same way
# --------------------------------------------------------------------------------------------


CHECK = " (check)"  # suffix of the check-mode twin of a task


def _steps(cases: list[tuple[str, bool, dict[str, Any]]], ignore_errors: bool) -> list[dict[str, Any]]:
    """One task per (name, checked, options), preceded by a check-mode twin ``name (check)`` when ``checked``."""
    tasks = []
    for name, checked, options in cases:
        if checked:
            tasks.append(task(name + CHECK, check_mode=True, ignore_errors=ignore_errors, **options))
        tasks.append(task(name, ignore_errors=ignore_errors, **options))
    return tasks


def _step_names(cases: list[tuple[str, bool, dict[str, Any]]]) -> list[str]:
    return [step for name, checked, _options in cases for step in ([name + CHECK] if checked else []) + [name]]


def _assert_ok_unchanged(result, checkpoints: Checkpoints, name: str) -> dict[str, Any]:
    record = result.record(name)
    assert record["status"] == "ok", record["result"]
    outcome = record["result"]
    assert outcome["changed"] is False
    assert outcome["actions"] == []
    assert checkpoints.writes(name) == []
    assert checkpoints.state(name) == checkpoints.state("start")
    return outcome


def test_user_that_does_not_exist(run_playbook, iam, checkpoints):
    arrange(iam, USER, ("Active", "ci"))
    failing = [
        ("present", False, {"user_name": GHOST}),
        ("active", False, {"user_name": GHOST, "state": "active"}),
        ("inactive in scope", False, {"user_name": GHOST, "state": "inactive", "description": "ci"}),
        ("present by id", True, {"user_name": GHOST, "id": MISSING_ID}),
    ]
    satisfied = [
        ("absent", True, {"user_name": GHOST, "state": "absent"}),
        ("absent in scope", False, {"user_name": GHOST, "state": "absent", "description": "ci"}),
        ("absent by id", False, {"user_name": GHOST, "id": MISSING_ID, "state": "absent"}),
    ]
    # check mode of a play whose earlier task creates the user: predicted as for a user without keys, with a warning
    would_create = [
        task("would create" + CHECK, check_mode=True, user_name=GHOST, state="active", description="ci"),
        task("would deactivate nothing" + CHECK, check_mode=True, user_name=GHOST, state="inactive"),
    ]
    tasks = _steps(failing, ignore_errors=True) + _steps(satisfied, ignore_errors=False) + would_create

    result = run_playbook(checkpoints.around(tasks))

    assert result.rc == 0, result.summary()
    for step in _step_names(failing):
        assert_failed(result, checkpoints, step, f"IAM user {GHOST} does not exist")
    for step, changed, actions in (
        (
            "would create" + CHECK,
            True,
            [{"action": "create", "access_key_id": None}, {"action": "describe", "access_key_id": None}],
        ),
        ("would deactivate nothing" + CHECK, False, []),
    ):
        record = result.record(step)
        assert record["status"] == ("changed" if changed else "ok"), record["result"]
        outcome = record["result"]
        assert (outcome["changed"], outcome["actions"]) == (changed, actions), step
        (warning,) = outcome["warnings"]
        assert f"IAM user {GHOST} does not exist yet" in warning
        assert "secret_access_key" not in outcome
        assert checkpoints.writes(step) == []
        assert checkpoints.state(step) == checkpoints.state("start")
    for step in _step_names(satisfied):
        outcome = _assert_ok_unchanged(result, checkpoints, step)
        assert outcome["access_keys"] == []
        assert "access_key" not in outcome
    assert checkpoints.state("start")[GHOST].exists is False
    assert [key[1:] for key in checkpoints.state("start")[USER].summary()] == [("Active", "ci")]


def test_key_not_found(run_playbook, iam, checkpoints):
    (key_id,) = arrange(iam, USER, ("Active", "ci"))
    failing = [
        ("present", True, {"user_name": USER, "id": MISSING_ID}),
        ("inactive", False, {"user_name": USER, "id": MISSING_ID, "state": "inactive"}),
        ("description", False, {"user_name": USER, "id": MISSING_ID, "description": "ci"}),
    ]
    failing_alone = [("present by id alone", True, {"id": MISSING_ID, "state": "active"})]
    satisfied = [
        ("absent", False, {"user_name": USER, "id": MISSING_ID, "state": "absent"}),
        ("absent by id alone", True, {"id": MISSING_ID, "state": "absent"}),
    ]
    tasks = _steps(failing + failing_alone, ignore_errors=True) + _steps(satisfied, ignore_errors=False)

    result = run_playbook(checkpoints.around(tasks))

    assert result.rc == 0, result.summary()
    for step in _step_names(failing):
        msg = assert_failed(result, checkpoints, step)
        assert MISSING_ID in msg and f"user {USER}" in msg and "does not exist" in msg, msg
    for step in _step_names(failing_alone):
        msg = assert_failed(result, checkpoints, step)
        assert MISSING_ID in msg and "does not exist" in msg, msg
    for step in _step_names(satisfied):
        _assert_ok_unchanged(result, checkpoints, step)
    assert checkpoints.state("start")[USER].summary() == [(key_id, "Active", "ci")]


def test_key_of_another_user(run_playbook, iam, checkpoints):
    arrange(iam, USER, ("Active", None))
    (bobs_key,) = arrange(iam, OTHER, ("Active", "ci"))
    cases = [
        (state, state == "absent", {"user_name": USER, "id": bobs_key, "state": state})
        for state in ("present", "active", "inactive", "absent")
    ]
    cases.append(("description", False, {"user_name": USER, "id": bobs_key, "description": "mine now"}))

    result = run_playbook(checkpoints.around(_steps(cases, ignore_errors=True)))

    assert result.rc == 0, result.summary()
    for step in _step_names(cases):
        msg = assert_failed(result, checkpoints, step)
        assert bobs_key in msg and f"belongs to user {OTHER}" in msg and USER in msg, msg
    assert checkpoints.state("start")[OTHER].summary() == [(bobs_key, "Active", "ci")]


def test_invalid_input_is_refused_before_any_call(run_playbook, iam, checkpoints):
    arrange(iam, USER, ("Active", None))
    bad_ids = ["akiaiosfodnn7example", "AKIA-IOSFODNN7EXAMPLE", "AKIA1234", "A" * 129]
    cases = [
        (f"id {bad}", index == 0, {"user_name": USER, "id": bad, "state": "absent"})
        for index, bad in enumerate(bad_ids)
    ]
    cases.append(("long description", False, {"user_name": USER, "description": "d" * 257}))
    cases.append(("neither user_name nor id", False, {"state": "absent"}))
    cases.append(("empty user_name", False, {"user_name": "", "state": "absent"}))

    result = run_playbook(checkpoints.around(_steps(cases, ignore_errors=True)))

    assert result.rc == 0, result.summary()
    for step in _step_names(cases):
        msg = assert_failed(result, checkpoints, step)
        assert checkpoints.calls(step) == []
        if step.startswith("id "):
            bad = step.removeprefix("id ").removesuffix(CHECK)
            assert f"{bad!r}" in msg and "not a valid access key id" in msg, msg
        elif step == "long description":
            assert "257" in msg and "256" in msg, msg
        else:
            assert "user_name" in msg, msg


def test_two_key_limit(run_playbook, iam, checkpoints):
    alice_active, alice_inactive = arrange(iam, USER, ("Active", None), ("Inactive", "old"))
    bob_first, bob_second = arrange(iam, OTHER, ("Inactive", None), ("Inactive", None))
    cases = [
        ("new scope", {"user_name": USER, "description": "new"}),
        ("active in scope", {"user_name": USER, "description": "old", "state": "active"}),
        ("active", {"user_name": OTHER, "state": "active"}),
    ]
    tasks = [task(name, ignore_errors=True, **options) for name, options in cases]

    # the same tasks with --check, then for real: the same failure, before any change
    checked = run_playbook(
        checkpoints.around([{**item, "name": f"{item['name']} (check)"} for item in tasks]), check=True
    )
    applied = run_playbook(checkpoints.around(tasks, start="start again"))

    assert checked.rc == 0, checked.summary()
    assert applied.rc == 0, applied.summary()
    expected = {
        "new scope": (USER, [(alice_active, "Active"), (alice_inactive, "Inactive")]),
        "active in scope": (USER, [(alice_active, "Active"), (alice_inactive, "Inactive")]),
        "active": (OTHER, [(bob_first, "Inactive"), (bob_second, "Inactive")]),
    }
    for name, (user_name, keys) in expected.items():
        assert checked.record(f"{name} (check)")["check_mode"] is True
        check_msg = assert_failed(checked, checkpoints, f"{name} (check)")
        msg = assert_failed(applied, checkpoints, name)
        assert check_msg == msg
        assert f"user {user_name}" in msg, msg
        for key_id, status in keys:
            assert f"{key_id} ({status}" in msg, msg
        assert checkpoints.actions(name).count("CreateAccessKey") == 0
    assert checkpoints.state("start again") == checkpoints.state("start")


def test_access_denied_names_the_iam_action(run_playbook, moto, iam, proxy):
    iam.create_user(UserName="admin")
    iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=allow("*"))
    admin = iam.create_access_key(UserName="admin")["AccessKey"]
    auditor_arn = iam.create_user(UserName="auditor")["User"]["Arn"]
    iam.put_user_policy(UserName="auditor", PolicyName="read", PolicyDocument=allow("iam:List*", "iam:Get*"))
    auditor = iam.create_access_key(UserName="auditor")["AccessKey"]
    nobody_arn = iam.create_user(UserName="nobody")["User"]["Arn"]
    nobody = iam.create_access_key(UserName="nobody")["AccessKey"]
    (key_id,) = arrange(iam, USER, ("Active", "ci"))
    as_auditor = {"access_key": auditor["AccessKeyId"], "secret_key": auditor["SecretAccessKey"]}
    as_nobody = {"access_key": nobody["AccessKeyId"], "secret_key": nobody["SecretAccessKey"]}
    cases = {
        "create": ("CreateAccessKey", auditor_arn, {**as_auditor, "user_name": USER, "description": "new"}),
        "deactivate": (
            "UpdateAccessKey",
            auditor_arn,
            {**as_auditor, "user_name": USER, "id": key_id, "state": "inactive"},
        ),
        "describe": ("TagUser", auditor_arn, {**as_auditor, "user_name": USER, "id": key_id, "description": "x"}),
        "delete": ("DeleteAccessKey", auditor_arn, {**as_auditor, "user_name": USER, "id": key_id, "state": "absent"}),
        "read": ("ListAccessKeys", nobody_arn, {**as_nobody, "user_name": USER}),
    }
    tasks = [task(name, ignore_errors=True, **options) for name, (_action, _arn, options) in cases.items()]
    admin_client = iam_client(moto.url, admin["AccessKeyId"], admin["SecretAccessKey"])

    with Checkpoints(proxy, admin_client, USERS) as checkpoints, moto_auth(moto.url):
        result = run_playbook(checkpoints.around(tasks))

    assert result.rc == 0, result.summary()
    for name, (action, arn, _options) in cases.items():
        attempted = () if action == "ListAccessKeys" else (action,)
        msg = assert_failed(result, checkpoints, name, attempted=attempted)
        assert msg == f"iam:{action} failed: AccessDenied: User: {arn} is not authorized to perform: iam:{action}"
        denied = [call for call in checkpoints.calls(name) if call.action == action]
        assert [(call.status, call.error_code) for call in denied] == [(403, "AccessDenied")]
    assert checkpoints.state("start")[USER].summary() == [(key_id, "Active", "ci")]
    for secret in (auditor["SecretAccessKey"], nobody["SecretAccessKey"]):  # failures never show a secret
        assert secret not in json.dumps(result.results) and secret not in result.stdout + result.stderr
    # after the block moto no longer checks signatures: the harness's dummy key works again
    assert iam.list_access_keys(UserName=USER)["AccessKeyMetadata"][0]["Status"] == "Active"


# --------------------------------------------------------------------------------------------
# Connection options: module_defaults, environment, aliases, profiles, and what goes wrong
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["in-process", "module"])
def test_connection_errors_and_profiles(path, run_playbook, proxy, iam, checkpoints, tmp_path):
    (key_id,) = arrange(iam, USER, ("Active", None))
    iam.create_user(UserName="operator")
    profile_key = iam.create_access_key(UserName="operator")["AccessKey"]
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text(
        f"[audit]\naws_access_key_id = {profile_key['AccessKeyId']}\n"
        f"aws_secret_access_key = {profile_key['SecretAccessKey']}\n",
        encoding="utf-8",
    )
    (home / ".aws" / "config").write_text("[profile audit]\nregion = us-east-1\n", encoding="utf-8")
    port = closed_port()
    at_proxy = {"endpoint_url": proxy.url, "region": "us-east-1"}
    dummy_keys = {"access_key": "testing", "secret_key": "testing"}
    tasks = [
        task("no credentials", ignore_errors=True, user_name=USER, **at_proxy),
        task("unknown profile", ignore_errors=True, user_name=USER, profile="nosuch", **at_proxy),
        task("profile and keys", ignore_errors=True, user_name=USER, profile="audit", **dummy_keys, **at_proxy),
        task(
            "unreachable endpoint",
            ignore_errors=True,
            user_name=USER,
            endpoint_url=f"http://127.0.0.1:{port}",
            region="us-east-1",
            **dummy_keys,
        ),
        # a known profile works (region from its config), through the aws_profile alias
        task("profile", aws_profile="audit", endpoint_url=proxy.url, user_name=USER, id=key_id, state="inactive"),
    ]
    no_credentials_env = {
        "HOME": str(home),  # ~/.aws has only the audit profile, no default credentials
        "AWS_ACCESS_KEY_ID": None,
        "AWS_SECRET_ACCESS_KEY": None,
        "AWS_CONFIG_FILE": None,
        "AWS_SHARED_CREDENTIALS_FILE": None,
        "AWS_REGION": None,
        "AWS_DEFAULT_REGION": None,
        # this test picks its path itself, whichever path the rest of the suite runs on
        "KEYGUARD_AWS_IN_PROCESS": "1" if path == "in-process" else "0",
    }

    assert_key_not_used(iam, profile_key["AccessKeyId"])

    result = run_playbook(
        checkpoints.around(tasks),
        module_defaults=False,
        env=no_credentials_env,
        extra_vars=AS_MODULE if path == "module" else None,
        verbosity=3,  # shows which path ran
    )

    assert result.rc == 0, result.summary()
    assert result.stdout.count(PATH_MESSAGES[path]) == len(tasks)
    msg = assert_failed(result, checkpoints, "no credentials")
    assert "credentials" in msg and "iam:ListAccessKeys" in msg, msg
    assert checkpoints.calls("no credentials") == []
    assert_failed(
        result,
        checkpoints,
        "unknown profile",
        "AWS profile 'nosuch' was not found in the AWS config or credentials files",
    )
    assert checkpoints.calls("unknown profile") == []
    msg = assert_failed(result, checkpoints, "profile and keys")
    assert "profile" in msg and "access_key" in msg, msg
    assert checkpoints.calls("profile and keys") == []
    msg = assert_failed(result, checkpoints, "unreachable endpoint")
    assert f"127.0.0.1:{port}" in msg and "iam:ListAccessKeys" in msg, msg
    assert checkpoints.calls("unreachable endpoint") == []

    with_profile = result.task("profile")
    assert with_profile["changed"] is True
    assert with_profile["actions"] == [{"action": "deactivate", "access_key_id": key_id}]
    assert checkpoints.writes("profile") == ["UpdateAccessKey"]
    assert checkpoints.state("profile")[USER].summary() == [(key_id, "Inactive", None)]
    assert_key_was_used(iam, profile_key["AccessKeyId"])


def test_environment_fallbacks(run_playbook, iam, checkpoints):
    iam.create_user(UserName=USER)
    iam.create_user(UserName="operator")
    operator_key = iam.create_access_key(UserName="operator")["AccessKey"]
    tasks = [task("create", user_name=USER), task("create again", user_name=USER)]
    # no module_defaults: endpoint (the proxy), region and keys come from AWS_* variables only
    env = {"AWS_ACCESS_KEY_ID": operator_key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": operator_key["SecretAccessKey"]}

    assert_key_not_used(iam, operator_key["AccessKeyId"])

    result = run_playbook(checkpoints.around(tasks), module_defaults=False, env=env)

    assert result.rc == 0, result.summary()
    assert "module_defaults" not in result.playbook.read_text(encoding="utf-8")
    created = result.task("create")
    assert created["changed"] is True
    assert "diff" not in created  # no --diff, no diff
    assert checkpoints.writes("create") == ["CreateAccessKey"]
    (new_key,) = checkpoints.state("create")[USER].keys
    assert created["access_key"] == new_key
    assert created["actions"] == [{"action": "create", "access_key_id": new_key["access_key_id"]}]
    assert created["secret_access_key"]
    again = result.task("create again")
    assert again["changed"] is False
    assert checkpoints.writes("create again") == []
    assert checkpoints.state("create again") == checkpoints.state("create")
    assert_key_was_used(iam, operator_key["AccessKeyId"])


def test_module_defaults_and_aliases(run_playbook, proxy, iam, checkpoints):
    iam.create_user(UserName=USER)
    iam.create_user(UserName=OTHER)
    iam.create_user(UserName="operator")
    first = iam.create_access_key(UserName="operator")["AccessKey"]
    second = iam.create_access_key(UserName="operator")["AccessKey"]
    defaults_port, env_port = closed_port(), closed_port()
    # module_defaults and the environment both point at closed ports, with dummy keys: the aliases must win
    defaults = {"endpoint_url": f"http://127.0.0.1:{defaults_port}"}
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{env_port}"}
    tasks = [
        task(
            "aliases with _id",
            username=USER,
            aws_access_key_id=first["AccessKeyId"],
            aws_secret_access_key=first["SecretAccessKey"],
            aws_endpoint_url=proxy.url,
            aws_region="us-east-1",
        ),
        task(
            "short aliases",
            username=OTHER,
            aws_access_key=second["AccessKeyId"],
            aws_secret_key=second["SecretAccessKey"],
            aws_endpoint_url=proxy.url,
            profile="",  # an empty string counts as unset: no "profile cannot be combined with keys"
        ),
        # no connection option on the task: module_defaults of the action group apply (over the environment)
        task("module_defaults", ignore_errors=True, user_name=USER, state="absent"),
    ]

    for key in (first, second):
        assert_key_not_used(iam, key["AccessKeyId"])

    result = run_playbook(checkpoints.around(tasks), module_defaults=defaults, env=env)

    assert result.rc == 0, result.summary()
    for name, user_name, key in (("aliases with _id", USER, first), ("short aliases", OTHER, second)):
        outcome = result.task(name)
        assert outcome["changed"] is True and outcome["user_name"] == user_name
        assert checkpoints.writes(name) == ["CreateAccessKey"]
        assert_user_name_sent(checkpoints.calls(name), user_name)
        (created,) = checkpoints.state(name)[user_name].keys
        assert outcome["access_key"] == created
        assert_key_was_used(iam, key["AccessKeyId"])
    msg = assert_failed(result, checkpoints, "module_defaults")
    assert f"127.0.0.1:{defaults_port}" in msg and str(env_port) not in msg, msg
    assert checkpoints.calls("module_defaults") == []
    assert len(checkpoints.state("module_defaults")[USER].keys) == 1


def test_access_key_id_alias_as_in_amazon_aws(run_playbook, proxy, iam):
    """Tasks written for amazon.aws name the key ``access_key_id``: both modules take it for ``id``."""
    iam.create_user(UserName=USER)
    key_id = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    tasks = [
        task("deactivate", access_key_id=key_id, state="inactive"),
        {"name": "report", "keyguard.aws.iam_access_key_info": {"access_key_id": key_id}},
    ]
    result = run_playbook(tasks)
    assert result.rc == 0, result.summary()
    assert result.task("deactivate")["changed"] is True
    assert [
        (key["AccessKeyId"], key["Status"]) for key in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]
    ] == [(key_id, "Inactive")]
    (reported,) = result.task("report")["access_keys"]
    assert (reported["access_key_id"], reported["user_name"], reported["status"]) == (key_id, USER, "Inactive")
    assert "deactivate" in [action["action"] for action in result.task("deactivate")["actions"]]


def test_options_that_cannot_take_effect_are_accepted_with_a_warning(run_playbook, iam, checkpoints):
    """Harmless conflicts: the task does what the other options say, and a warning says which option was ignored."""
    arrange(iam, USER, ("Active", "ci"), ("Inactive", None))
    tasks = [
        task("idle hours with keep", user_name=USER, description="ci", previous_keys_idle_hours=24),
        {
            "name": "exact without last use",
            "keyguard.aws.iam_access_key_info": {
                "user_name": USER,
                "include_last_used": False,
                "exact_last_used": True,
            },
        },
    ]
    result = run_playbook(checkpoints.around(tasks))

    assert result.rc == 0, result.summary()
    outcome = _assert_ok_unchanged(result, checkpoints, "idle hours with keep")
    assert outcome["warnings"] == [
        "previous_keys_idle_hours has no effect with previous_keys=keep: no previous key is retired"
    ]
    report = result.task("exact without last use")
    assert report["warnings"] == [
        "exact_last_used has no effect with include_last_used=false: no last use is looked up"
    ]
    assert [(key["access_key_id"], key["status"]) for key in report["access_keys"]] == [
        (key["AccessKeyId"], key["Status"])
        for key in sorted(iam.list_access_keys(UserName=USER)["AccessKeyMetadata"], key=lambda key: key["CreateDate"])
    ]
    assert "GetAccessKeyLastUsed" not in checkpoints.actions("exact without last use")
    assert checkpoints.writes("exact without last use") == []
    assert checkpoints.state("exact without last use") == checkpoints.state("start")
