# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime
import os
import typing as t
from pathlib import Path

import boto3
import boto3.session
import botocore.config
import botocore.exceptions
import botocore.session
import pytest
from freezegun import freeze_time
from moto import mock_aws
from unit_tasks import WRITE_OPERATIONS, ensure_access_keys

from ansible_collections.keyguard.aws.plugins.module_utils._aws import AwsError, aws_client, connection_kwargs
from ansible_collections.keyguard.aws.plugins.module_utils._aws_calls import server_time
from ansible_collections.keyguard.aws.plugins.module_utils._key_apply import apply
from ansible_collections.keyguard.aws.plugins.module_utils._key_reads import read_user_keys
from ansible_collections.keyguard.aws.plugins.module_utils._key_types import Action

# ensure_access_keys() against moto's in-process IAM. Each row: check mode (nothing changes), real run (IAM read back
# with a separate boto3 client), re-run (changed false, no write call, few calls).

USER = "alice"
OTHER_USER = "bob"
UNKNOWN_ID = "AKIAXXXXXXXXXXXXXXX9"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    (tmp_path / "aws-config").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def mocked_aws(aws_env: None) -> t.Iterator[None]:
    with mock_aws():
        yield


class CallLog:
    """Operation names (and request bodies) of every call a client makes, recorded by a botocore event handler."""

    def __init__(self) -> None:
        self.operations: list[str] = []
        self.bodies: list[dict[str, t.Any]] = []

    def __call__(self, model: t.Any, params: dict[str, t.Any], **_kwargs: t.Any) -> None:
        self.operations.append(model.name)
        body = params.get("body")
        self.bodies.append(body if isinstance(body, dict) else {})

    def clear(self) -> None:
        self.operations.clear()
        self.bodies.clear()

    @property
    def writes(self) -> list[str]:
        return [name for name in self.operations if name in WRITE_OPERATIONS]


@pytest.fixture(scope="module")
def shared_session(tmp_path_factory: pytest.TempPathFactory) -> botocore.session.Session:
    """One botocore session for the whole module: its loader cache makes creating clients cheap (~5 ms, not ~150)."""
    empty = tmp_path_factory.mktemp("aws") / "empty"
    empty.write_text("")
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("AWS_"):
                patch.delenv(name)
        patch.setenv("AWS_CONFIG_FILE", str(empty))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
        session = botocore.session.Session()
        session.get_scoped_config()  # read (and cache) the empty config files now
    session.set_credentials("testing", "testing", "testing")
    return session


@pytest.fixture
def client(mocked_aws: None, shared_session: botocore.session.Session) -> t.Any:
    """The client the code under test uses, created inside mock_aws with the collection's own client options."""
    kwargs = connection_kwargs({"region": "us-east-1"})
    return shared_session.create_client(
        "iam", region_name=kwargs["region"], config=botocore.config.Config(**kwargs["config"])
    )


@pytest.fixture
def calls(client: t.Any) -> CallLog:
    log = CallLog()
    client.meta.events.register("before-call.iam", log)
    return log


@pytest.fixture
def reader(mocked_aws: None, shared_session: botocore.session.Session) -> t.Any:
    """A separate boto3 client to set up and read back IAM (its calls are not counted)."""
    return boto3.session.Session(botocore_session=shared_session).client("iam", region_name="us-east-1")


def test_client_options_match_iam_client(client: t.Any) -> None:
    own = aws_client("iam", **connection_kwargs({"region": "us-east-1"}))
    assert own.meta.config.retries == {"mode": "standard", "total_max_attempts": 5}
    assert client.meta.config.retries["mode"] == own.meta.config.retries["mode"]
    assert client.meta.config.user_agent_extra == own.meta.config.user_agent_extra


def test_default_client_from_environment(mocked_aws: None, reader: t.Any) -> None:
    """Without a client, ensure_access_keys builds its own from the options (here: env credentials, inside moto)."""
    make_user(reader, USER)
    result = ensure_access_keys({"user_name": USER, "region": "us-east-1"})
    (created,) = iam_keys(reader, USER)
    assert result["actions"] == [{"action": "create", "access_key_id": created["access_key_id"]}]
    assert result["access_key"] == created
    assert ensure_access_keys({"user_name": USER})["changed"] is False


def make_user(reader: t.Any, name: str, keys: t.Sequence[tuple[str, str | None]] = ()) -> list[str]:
    """Create a user with keys given as (status, description), oldest first; return their ids."""
    reader.create_user(UserName=name)
    ids = []
    for status, description in keys:
        key_id = reader.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
        if status == "Inactive":
            reader.update_access_key(UserName=name, AccessKeyId=key_id, Status="Inactive")
        if description is not None:
            reader.tag_user(UserName=name, Tags=[{"Key": key_id, "Value": description}])
        ids.append(key_id)
    return ids


def iam_keys(reader: t.Any, name: str) -> list[dict[str, t.Any]]:
    """The user's keys as IAM reports them, in the module's result format, oldest first."""
    metadata = reader.list_access_keys(UserName=name)["AccessKeyMetadata"]
    tags = {tag["Key"]: tag["Value"] for tag in reader.list_user_tags(UserName=name)["Tags"]}
    return [
        {
            "access_key_id": item["AccessKeyId"],
            "user_name": item["UserName"],
            "status": item["Status"],
            "create_date": item["CreateDate"].astimezone(datetime.timezone.utc).isoformat(),
            "description": tags.get(item["AccessKeyId"]),
        }
        for item in sorted(metadata, key=lambda item: item["CreateDate"])
    ]


def iam_tags(reader: t.Any, name: str) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in reader.list_user_tags(UserName=name)["Tags"]}


WRITE_OPERATION_OF = {
    "create": "CreateAccessKey",
    "activate": "UpdateAccessKey",
    "deactivate": "UpdateAccessKey",
    "describe": "TagUser",
}

NEW = "new"  # stands for the key the run creates


class Row(t.NamedTuple):
    setup: list[tuple[str, str | None]]  # the user's keys before, (status, description), oldest first
    params: dict[str, t.Any]  # "id" given as an index into setup; "user_name" added unless by_id_only
    actions: list[tuple[str, int | str]]  # (action, index into setup or NEW)
    after: list[tuple[int | str, str, str | None]]  # (index or NEW, status, description), oldest first
    focus: int | str | None  # the key returned as access_key (index or NEW), None when none
    by_id_only: bool = False


ROWS = [
    # ---- without id ---------------------------------------------------------------------------
    pytest.param(Row([], {}, [("create", NEW)], [(NEW, "Active", None)], NEW), id="present-0keys-creates"),
    pytest.param(
        Row([], {"description": "ci"}, [("create", NEW), ("describe", NEW)], [(NEW, "Active", "ci")], NEW),
        id="present-desc-0keys-creates-described",
    ),
    pytest.param(Row([("Inactive", None)], {}, [], [(0, "Inactive", None)], 0), id="present-1inactive-noop"),
    pytest.param(
        Row(
            [("Active", "other")],
            {"description": "ci"},
            [("create", NEW), ("describe", NEW)],
            [(0, "Active", "other"), (NEW, "Active", "ci")],
            NEW,
        ),
        id="present-desc-out-of-scope-key-creates",
    ),
    pytest.param(
        Row([("Active", "ci")], {"description": "ci"}, [], [(0, "Active", "ci")], 0), id="present-desc-in-scope-noop"
    ),
    pytest.param(
        Row(
            [("Inactive", None)],
            {"state": "active"},
            [("create", NEW)],
            [(0, "Inactive", None), (NEW, "Active", None)],
            NEW,
        ),
        id="active-1inactive-creates-never-reactivates",
    ),
    pytest.param(
        Row(
            [("Active", "other")],
            {"state": "active", "description": "ci"},
            [("create", NEW), ("describe", NEW)],
            [(0, "Active", "other"), (NEW, "Active", "ci")],
            NEW,
        ),
        id="active-desc-creates",
    ),
    pytest.param(Row([("Active", None)], {"state": "active"}, [], [(0, "Active", None)], 0), id="active-1active-noop"),
    pytest.param(
        Row(
            [("Active", None), ("Active", "ci")],
            {"state": "inactive"},
            [("deactivate", 0), ("deactivate", 1)],
            [(0, "Inactive", None), (1, "Inactive", "ci")],
            1,
        ),
        id="inactive-2active",
    ),
    pytest.param(
        Row(
            [("Active", "ci"), ("Active", "other")],
            {"state": "inactive", "description": "ci"},
            [("deactivate", 0)],
            [(0, "Inactive", "ci"), (1, "Active", "other")],
            0,
        ),
        id="inactive-desc-only-scope",
    ),
    pytest.param(
        Row([("Active", "ci"), ("Inactive", None)], {"state": "absent"}, [("delete", 0), ("delete", 1)], [], None),
        id="absent-all-keys-and-tags",
    ),
    pytest.param(
        Row(
            [("Active", "ci"), ("Active", "other")],
            {"state": "absent", "description": "ci"},
            [("delete", 0)],
            [(1, "Active", "other")],
            None,
        ),
        id="absent-desc-only-scope",
    ),
    pytest.param(Row([], {"state": "absent"}, [], [], None), id="absent-0keys-noop"),
    # ---- with id ------------------------------------------------------------------------------
    pytest.param(
        Row([("Inactive", None)], {"id": 0}, [], [(0, "Inactive", None)], 0), id="id-present-inactive-untouched"
    ),
    pytest.param(
        Row(
            [("Active", "old")],
            {"id": 0, "description": "new"},
            [("describe", 0)],
            [(0, "Active", "new")],
            0,
        ),
        id="id-present-redescribes",
    ),
    pytest.param(
        Row([("Inactive", None)], {"id": 0, "state": "active"}, [("activate", 0)], [(0, "Active", None)], 0),
        id="id-active-activates",
    ),
    pytest.param(
        Row(
            [("Inactive", None), ("Active", None)],
            {"id": 0, "state": "active", "description": "ci"},
            [("activate", 0), ("describe", 0)],
            [(0, "Active", "ci"), (1, "Active", None)],
            0,
        ),
        id="id-active-activates-and-describes",
    ),
    pytest.param(
        Row(
            [("Active", None), ("Active", None)],
            {"id": 1, "state": "inactive"},
            [("deactivate", 1)],
            [(0, "Active", None), (1, "Inactive", None)],
            1,
        ),
        id="id-inactive-only-that-key",
    ),
    pytest.param(
        Row(
            [("Active", "ci"), ("Active", None)],
            {"id": 0, "state": "absent"},
            [("delete", 0)],
            [(1, "Active", None)],
            None,
        ),
        id="id-absent-deletes-key-and-tag",
    ),
    pytest.param(
        Row([("Active", None)], {"id": 0, "state": "inactive"}, [("deactivate", 0)], [(0, "Inactive", None)], 0, True),
        id="id-only-inactive-owner-looked-up",
    ),
    pytest.param(
        Row([("Active", None)], {"id": 0, "description": "ci"}, [("describe", 0)], [(0, "Active", "ci")], 0, True),
        id="id-only-present-describes",
    ),
    pytest.param(
        Row([("Active", "ci")], {"id": 0, "state": "absent"}, [("delete", 0)], [], None, True),
        id="id-only-absent",
    ),
]


def build_params(row: Row, ids: list[str]) -> dict[str, t.Any]:
    params = dict(row.params)
    if "id" in params:
        params["id"] = ids[params["id"]]
    if not row.by_id_only:
        params["user_name"] = USER
    return params


def resolve(ref: int | str, ids: list[str], new_id: str | None) -> str | None:
    return new_id if ref == NEW else ids[t.cast(int, ref)]


def expected_writes(row: Row, ids: list[str]) -> list[str]:
    writes = []
    for action, ref in row.actions:
        if action == "delete":
            writes.append("DeleteAccessKey")
            if row.setup[t.cast(int, ref)][1] is not None:
                writes.append("UntagUser")
        else:
            writes.append(WRITE_OPERATION_OF[action])
    return writes


@pytest.mark.parametrize("row", ROWS)
def test_row(row: Row, client: t.Any, calls: CallLog, reader: t.Any) -> None:
    ids = make_user(reader, USER, row.setup)
    make_user(reader, OTHER_USER, [("Active", "bob-key")])  # a bystander that must never be touched
    bystander = iam_keys(reader, OTHER_USER)
    params = build_params(row, ids)
    before = iam_keys(reader, USER)
    changes = bool(row.actions)

    # 1. check mode: reports the plan, changes nothing, makes no write call
    check = ensure_access_keys(params, check_mode=True, client=client)
    assert calls.writes == []
    assert iam_keys(reader, USER) == before
    assert check["changed"] is changes
    assert check["user_name"] == USER
    assert check["actions"] == [{"action": a, "access_key_id": resolve(r, ids, None)} for a, r in row.actions]
    assert "secret_access_key" not in check
    assert check["diff"]["before"] == {"access_keys": before}

    # 2. real run
    calls.clear()
    result = ensure_access_keys(params, check_mode=False, client=client)
    after = iam_keys(reader, USER)
    new_ids = [key["access_key_id"] for key in after if key["access_key_id"] not in ids]
    creates = [a for a, _r in row.actions if a == "create"]
    assert len(new_ids) == len(creates)
    new_id = new_ids[0] if new_ids else None
    assert [(key["access_key_id"], key["status"], key["description"]) for key in after] == [
        (resolve(ref, ids, new_id), status, description) for ref, status, description in row.after
    ]
    assert iam_tags(reader, USER) == {
        resolve(ref, ids, new_id): description for ref, _status, description in row.after if description is not None
    }
    assert iam_keys(reader, OTHER_USER) == bystander
    assert result["changed"] is changes
    assert result["user_name"] == USER
    assert result["actions"] == [{"action": a, "access_key_id": resolve(r, ids, new_id)} for a, r in row.actions]
    assert result["access_keys"] == after
    assert result["diff"] == {"before": {"access_keys": before}, "after": {"access_keys": after}}
    assert calls.writes == expected_writes(row, ids)
    for operation, body in zip(calls.operations, calls.bodies, strict=True):
        if operation in WRITE_OPERATIONS:
            assert body.get("UserName") == USER, operation  # always explicit, never the caller's own keys
    if row.focus is None:
        assert "access_key" not in result
        assert "access_key" not in check
    else:
        focus_id = resolve(row.focus, ids, new_id)
        assert result["access_key"] == next(key for key in after if key["access_key_id"] == focus_id)
        assert check["access_key"]["access_key_id"] == resolve(row.focus, ids, None)
    if creates:
        secret = result["secret_access_key"]
        assert isinstance(secret, str)
        assert len(secret) == 40
        assert secret not in repr(result["diff"])
        assert secret not in repr(result["access_keys"])
    else:
        assert "secret_access_key" not in result

    # check mode predicted exactly this (up to the id and date only the real create knows)
    def placeholder_for_new(key: dict[str, t.Any]) -> dict[str, t.Any]:
        if key["access_key_id"] == new_id:
            return {**key, "access_key_id": None, "create_date": None}
        return key

    assert check["access_keys"] == [placeholder_for_new(key) for key in after]

    # 3. re-run, real and check mode: no change, no write call, few calls. By user name that is ListAccessKeys and
    # ListUserTags; GetAccessKeyLastUsed is added only to find the owner of an id the user does not (or no longer) own.
    key_gone = "id" in params and params["id"] not in [key["access_key_id"] for key in after]
    max_calls = 3 if row.by_id_only or key_gone else 2
    for check_mode in (False, True):
        calls.clear()
        again = ensure_access_keys(params, check_mode=check_mode, client=client)
        assert again["changed"] is False
        assert again["actions"] == []
        assert "secret_access_key" not in again
        assert again["access_keys"] == after
        assert calls.writes == []
        assert len(calls.operations) <= max_calls, calls.operations
    assert iam_keys(reader, USER) == after


def test_noop_reconcile_by_user_name_makes_two_reads(client: t.Any, calls: CallLog, reader: t.Any) -> None:
    make_user(reader, USER, [("Active", "ci"), ("Inactive", None)])
    result = ensure_access_keys({"user_name": USER, "state": "present", "description": "ci"}, client=client)
    assert result["changed"] is False
    assert calls.operations == ["ListAccessKeys", "ListUserTags"]


def test_idle_hours_with_previous_keys_keep_is_said_to_have_no_effect(
    client: t.Any, calls: CallLog, reader: t.Any
) -> None:
    make_user(reader, USER, [("Active", "ci")])
    before = iam_keys(reader, USER)
    params = {"user_name": USER, "state": "present", "description": "ci", "previous_keys_idle_hours": 24}
    result = ensure_access_keys(params, client=client)
    assert result["changed"] is False
    assert result["warnings"] == [
        "previous_keys_idle_hours has no effect with previous_keys=keep: no previous key is retired"
    ]
    assert iam_keys(reader, USER) == before
    assert calls.operations == ["ListAccessKeys", "ListUserTags"]  # no last use is read for the idle guard

    calls.clear()
    params["previous_keys"] = "deactivate"
    assert "warnings" not in ensure_access_keys(params, client=client)
    assert iam_keys(reader, USER) == before


def test_noop_reconcile_user_without_keys_makes_two_reads(client: t.Any, calls: CallLog, reader: t.Any) -> None:
    make_user(reader, USER)
    result = ensure_access_keys({"user_name": USER, "state": "absent"}, client=client)
    assert result == {
        "changed": False,
        "user_name": USER,
        "actions": [],
        "access_keys": [],
        "rotated": False,
        "retained_access_key_ids": [],
        "diff": {"before": {"access_keys": []}, "after": {"access_keys": []}},
    }
    # absent also reads the tags, to find descriptions of keys already gone
    assert calls.operations == ["ListAccessKeys", "ListUserTags"]


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"state": "absent", "id": "KEY"}, id="by-id"),
        pytest.param({"state": "absent", "description": "ci"}, id="by-description"),
        pytest.param({"state": "absent"}, id="all"),
    ],
)
def test_absent_removes_a_description_left_by_a_key_already_gone(
    client: t.Any, calls: CallLog, reader: t.Any, params: dict
) -> None:
    gone, kept = make_user(reader, USER, [("Active", "ci"), ("Active", "other")])
    reader.delete_access_key(UserName=USER, AccessKeyId=gone)  # as if the untag after a delete never ran
    params = {**params, "id": gone} if params.get("id") == "KEY" else params
    result = ensure_access_keys({"user_name": USER, **params}, client=client)
    tags = {tag["Key"]: tag["Value"] for tag in reader.list_user_tags(UserName=USER)["Tags"]}
    assert gone not in tags
    assert result["changed"] is True
    assert {"action": "delete", "access_key_id": gone} in result["actions"]
    if params.get("description") or params.get("id"):
        assert tags == {kept: "other"}
        assert [key["AccessKeyId"] for key in reader.list_access_keys(UserName=USER)["AccessKeyMetadata"]] == [kept]
    else:
        assert tags == {} and reader.list_access_keys(UserName=USER)["AccessKeyMetadata"] == []
    calls.operations.clear()
    assert ensure_access_keys({"user_name": USER, **params}, client=client)["changed"] is False
    assert not set(calls.operations) & WRITE_OPERATIONS


def test_rerun_of_create_never_creates_another_key(client: t.Any, calls: CallLog, reader: t.Any) -> None:
    make_user(reader, USER)
    params = {"user_name": USER, "state": "active", "description": "ci"}
    first = ensure_access_keys(params, client=client)
    for _run in range(3):
        assert ensure_access_keys(params, client=client)["changed"] is False
    assert [key["access_key_id"] for key in iam_keys(reader, USER)] == [first["access_key"]["access_key_id"]]
    assert calls.operations.count("CreateAccessKey") == 1


# ---------------------------------------------------------------------------------------------
# Already gone
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("with_user", [True, False], ids=["with-user", "id-only"])
def test_absent_key_already_deleted(client: t.Any, calls: CallLog, reader: t.Any, with_user: bool) -> None:
    (key_id, kept) = make_user(reader, USER, [("Active", None), ("Active", None)])
    reader.delete_access_key(UserName=USER, AccessKeyId=key_id)
    params = {"id": key_id, "state": "absent", **({"user_name": USER} if with_user else {})}
    for check_mode in (True, False):
        result = ensure_access_keys(params, check_mode=check_mode, client=client)
        assert result["changed"] is False
        assert result["actions"] == []
        assert "access_key" not in result
        if with_user:
            assert result["user_name"] == USER
            assert [key["access_key_id"] for key in result["access_keys"]] == [kept]
        else:
            assert result["user_name"] is None
            assert result["access_keys"] == []
    assert calls.writes == []
    assert [key["access_key_id"] for key in iam_keys(reader, USER)] == [kept]


@pytest.mark.parametrize("params", [{"state": "absent"}, {"state": "absent", "id": UNKNOWN_ID}])
def test_absent_for_missing_user_is_satisfied(client: t.Any, calls: CallLog, params: dict) -> None:
    for check_mode in (True, False):
        result = ensure_access_keys({"user_name": "ghost", **params}, check_mode=check_mode, client=client)
        assert result["changed"] is False
        assert result["user_name"] == "ghost"
        assert result["access_keys"] == []
    assert calls.operations == ["ListAccessKeys", "ListAccessKeys"]


# ---------------------------------------------------------------------------------------------
# Errors: clear one-line message, same in check mode, nothing changed, no write call
# ---------------------------------------------------------------------------------------------


def assert_fails_without_change(
    client: t.Any,
    calls: CallLog,
    reader: t.Any,
    params: dict[str, t.Any],
    message: str,
    check_modes: tuple[bool, ...] = (True, False),
) -> None:
    users = [user["UserName"] for user in reader.list_users()["Users"]]
    before = {user: iam_keys(reader, user) for user in users}
    for check_mode in check_modes:
        with pytest.raises(AwsError) as excinfo:
            ensure_access_keys(params, check_mode=check_mode, client=client)
        assert str(excinfo.value) == message
        assert "\n" not in str(excinfo.value)
        assert "secret_access_key" not in excinfo.value.result
    assert calls.writes == []
    assert {user: iam_keys(reader, user) for user in users} == before


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"state": "present"}, id="present"),
        pytest.param({"state": "active", "description": "ci"}, id="active"),
        pytest.param({"state": "inactive"}, id="inactive"),
        pytest.param({"state": "present", "id": UNKNOWN_ID}, id="present-id"),
    ],
)
def test_missing_user(client: t.Any, calls: CallLog, reader: t.Any, params: dict) -> None:
    make_user(reader, OTHER_USER, [("Active", None)])
    # check mode predicts a missing user as one without keys (see below), except for a task about one key id
    check_modes = (True, False) if "id" in params else (False,)
    assert_fails_without_change(
        client, calls, reader, {"user_name": "ghost", **params}, "IAM user ghost does not exist", check_modes
    )


@pytest.mark.parametrize(
    ("params", "actions"),
    [
        pytest.param({"state": "present"}, [{"action": "create", "access_key_id": None}], id="present"),
        pytest.param(
            {"state": "active", "description": "ci"},
            [{"action": "create", "access_key_id": None}, {"action": "describe", "access_key_id": None}],
            id="active",
        ),
        pytest.param({"state": "inactive"}, [], id="inactive"),
    ],
)
def test_missing_user_in_check_mode_is_predicted_as_a_user_without_keys(
    client: t.Any, calls: CallLog, reader: t.Any, params: dict, actions: list
) -> None:
    result = ensure_access_keys({"user_name": "ghost", **params}, check_mode=True, client=client)
    assert result["changed"] is bool(actions)
    assert result["actions"] == actions
    assert result["warnings"] == [
        "IAM user ghost does not exist yet; check mode predicts this task as for a user without keys, "
        "assuming an earlier task creates the user"
    ]
    assert "secret_access_key" not in result
    assert result["diff"]["before"] == {"access_keys": []}
    assert calls.writes == []
    assert [user["UserName"] for user in reader.list_users()["Users"]] == []


@pytest.mark.parametrize("state", ["present", "active", "inactive"])
def test_unknown_key_id_for_user(client: t.Any, calls: CallLog, reader: t.Any, state: str) -> None:
    make_user(reader, USER, [("Active", None)])
    assert_fails_without_change(
        client,
        calls,
        reader,
        {"user_name": USER, "id": UNKNOWN_ID, "state": state},
        f"access key {UNKNOWN_ID} does not exist for user {USER}",
    )


@pytest.mark.parametrize("state", ["present", "active", "inactive"])
def test_unknown_key_id_alone(client: t.Any, calls: CallLog, reader: t.Any, state: str) -> None:
    make_user(reader, USER, [("Active", None)])
    assert_fails_without_change(
        client, calls, reader, {"id": UNKNOWN_ID, "state": state}, f"access key {UNKNOWN_ID} does not exist"
    )


@pytest.mark.parametrize("state", ["present", "active", "inactive", "absent"])
def test_key_of_another_user(client: t.Any, calls: CallLog, reader: t.Any, state: str) -> None:
    make_user(reader, USER, [("Active", None)])
    (bob_key,) = make_user(reader, OTHER_USER, [("Active", None)])
    assert_fails_without_change(
        client,
        calls,
        reader,
        {"user_name": USER, "id": bob_key, "state": state},
        f"access key {bob_key} belongs to user {OTHER_USER}, not {USER}",
    )


@pytest.mark.parametrize(
    ("setup", "params", "listed"),
    [
        pytest.param(
            [("Inactive", None), ("Inactive", None)],
            {"state": "active"},
            ["Inactive", "Inactive"],
            id="active-two-inactive",
        ),
        pytest.param(
            [("Active", None), ("Inactive", "old")],
            {"state": "present", "description": "ci"},
            ["Active", "Inactive"],
            id="present-desc-none-in-scope",
        ),
        pytest.param(
            [("Active", "other"), ("Inactive", "ci")],
            {"state": "active", "description": "ci"},
            ["Active", "Inactive"],
            id="active-desc-scope-inactive",
        ),
    ],
)
def test_two_key_limit(
    client: t.Any, calls: CallLog, reader: t.Any, setup: list, params: dict, listed: list[str]
) -> None:
    ids = make_user(reader, USER, setup)
    # The keys were never used, and the message says so (it reads their last use before failing).
    described = ", ".join(f"{key_id} ({status}, never used)" for key_id, status in zip(ids, listed, strict=True))
    assert_fails_without_change(
        client,
        calls,
        reader,
        {"user_name": USER, **params},
        f"cannot create an access key for user {USER}: it already has 2 keys, the most IAM allows "
        f"({described}); delete one or pass its id",
    )
    assert calls.operations.count("CreateAccessKey") == 0


# ---------------------------------------------------------------------------------------------
# Failures part-way
# ---------------------------------------------------------------------------------------------

TAG_DENIED = "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: iam:TagUser"


def denied(operation: str, message: str) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {"Error": {"Code": "AccessDenied", "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 403}}, operation
    )


def test_description_failure_after_create_deletes_the_new_key(
    client: t.Any, calls: CallLog, reader: t.Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user(reader, USER)
    real_tag_user = client.tag_user

    def tag_user(**_kwargs: t.Any) -> t.NoReturn:
        raise denied("TagUser", TAG_DENIED)

    monkeypatch.setattr(client, "tag_user", tag_user)
    with pytest.raises(AwsError) as excinfo:
        ensure_access_keys({"user_name": USER, "description": "ci"}, client=client)
    exc = excinfo.value
    created = exc.result["actions"][0]["access_key_id"]
    bodies = zip(calls.operations, calls.bodies)
    deleted = [body.get("AccessKeyId") for name, body in bodies if name == "DeleteAccessKey"]
    assert deleted == [created]
    assert str(exc) == (
        f"iam:TagUser failed: AccessDenied: {TAG_DENIED}; access key {created}, created by this task, was deleted "
        "again, so no key is left without its description and a re-run starts afresh"
    )
    assert exc.code == "AccessDenied"
    assert exc.result == {
        "actions": [{"action": "create", "access_key_id": created}, {"action": "delete", "access_key_id": created}],
        "changed": True,
    }
    assert iam_keys(reader, USER) == []
    assert iam_tags(reader, USER) == {}
    assert calls.writes == ["CreateAccessKey", "DeleteAccessKey", "UntagUser"]

    # Once tagging works, a re-run creates the one key the task asks for.
    monkeypatch.setattr(client, "tag_user", real_tag_user)
    result = ensure_access_keys({"user_name": USER, "description": "ci"}, client=client)
    (key,) = iam_keys(reader, USER)
    assert (key["access_key_id"], key["description"]) == (result["access_key"]["access_key_id"], "ci")
    assert "secret_access_key" in result


def test_failure_after_create_hands_back_the_secret_when_the_key_cannot_be_deleted(
    client: t.Any, calls: CallLog, reader: t.Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user(reader, USER)
    delete_denied = "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: iam:DeleteAccessKey"

    def tag_user(**_kwargs: t.Any) -> t.NoReturn:
        raise denied("TagUser", TAG_DENIED)

    def delete_access_key(**_kwargs: t.Any) -> t.NoReturn:
        raise denied("DeleteAccessKey", delete_denied)

    monkeypatch.setattr(client, "tag_user", tag_user)
    monkeypatch.setattr(client, "delete_access_key", delete_access_key)
    with pytest.raises(AwsError) as excinfo:
        ensure_access_keys({"user_name": USER, "description": "ci"}, client=client)
    exc = excinfo.value
    (created,) = iam_keys(reader, USER)  # the key exists in IAM, undescribed
    assert str(exc) == (
        f"iam:TagUser failed: AccessDenied: {TAG_DENIED}; access key {created['access_key_id']}, created by this "
        f"task without its description, could not be deleted either (iam:DeleteAccessKey failed: AccessDenied: "
        f"{delete_denied}): its secret is returned"
    )
    assert exc.code == "AccessDenied"
    assert created["status"] == "Active"
    assert created["description"] is None
    assert iam_tags(reader, USER) == {}
    assert exc.result["access_key"] == created
    assert exc.result["actions"] == [{"action": "create", "access_key_id": created["access_key_id"]}]
    secret = exc.result["secret_access_key"]
    assert isinstance(secret, str)
    assert len(secret) == 40
    assert secret not in str(exc)
    assert calls.operations.count("CreateAccessKey") == 1


def test_failure_after_the_new_key_is_described_hands_back_the_secret(
    client: t.Any, calls: CallLog, reader: t.Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with freeze_time(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=2)):
        (old,) = make_user(reader, USER, [("Active", "ci")])
    message = "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: iam:UpdateAccessKey"

    def update_access_key(**_kwargs: t.Any) -> t.NoReturn:
        raise denied("UpdateAccessKey", message)

    monkeypatch.setattr(client, "update_access_key", update_access_key)
    params = {"user_name": USER, "description": "ci", "rotate_after_days": 1, "previous_keys": "deactivate"}
    with pytest.raises(AwsError) as excinfo:
        ensure_access_keys(params, client=client)
    exc = excinfo.value
    assert str(exc) == f"iam:UpdateAccessKey failed: AccessDenied: {message}"
    keys = iam_keys(reader, USER)
    assert [(key["status"], key["description"]) for key in keys] == [("Active", "ci"), ("Active", "ci")]
    new = keys[1]
    assert keys[0]["access_key_id"] == old
    assert exc.result["access_key"] == new  # the new key stays: it is described, so a re-run sees it
    assert len(exc.result["secret_access_key"]) == 40
    assert [action["action"] for action in exc.result["actions"]] == ["create", "describe"]


def test_failure_part_way_reports_the_actions_done(
    client: t.Any, calls: CallLog, reader: t.Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = make_user(reader, USER, [("Active", None), ("Active", None)])
    real_update = client.update_access_key
    message = "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: iam:UpdateAccessKey"

    def update_access_key(**kwargs: t.Any) -> t.Any:
        if kwargs["AccessKeyId"] == second:
            raise denied("UpdateAccessKey", message)
        return real_update(**kwargs)

    monkeypatch.setattr(client, "update_access_key", update_access_key)
    with pytest.raises(AwsError) as excinfo:
        ensure_access_keys({"user_name": USER, "state": "inactive"}, client=client)
    assert str(excinfo.value) == f"iam:UpdateAccessKey failed: AccessDenied: {message}"
    assert excinfo.value.result == {"actions": [{"action": "deactivate", "access_key_id": first}], "changed": True}
    assert [(key["access_key_id"], key["status"]) for key in iam_keys(reader, USER)] == [
        (first, "Inactive"),
        (second, "Active"),
    ]


def test_owner_lookup_failure_is_reported(
    client: t.Any, calls: CallLog, reader: t.Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (key_id,) = make_user(reader, USER, [("Active", None)])
    message = "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: iam:GetAccessKeyLastUsed"

    def get_access_key_last_used(**_kwargs: t.Any) -> t.NoReturn:
        raise denied("GetAccessKeyLastUsed", message)

    monkeypatch.setattr(client, "get_access_key_last_used", get_access_key_last_used)
    with pytest.raises(AwsError) as excinfo:
        ensure_access_keys({"id": key_id, "state": "inactive"}, client=client)
    assert str(excinfo.value) == f"iam:GetAccessKeyLastUsed failed: AccessDenied: {message}"
    assert calls.writes == []
    assert iam_keys(reader, USER)[0]["status"] == "Active"


def test_apply_delete_of_a_key_deleted_meanwhile_still_removes_its_tag(
    client: t.Any, calls: CallLog, reader: t.Any
) -> None:
    gone, kept = make_user(reader, USER, [("Active", "ci"), ("Active", "other")])
    reader.delete_access_key(UserName=USER, AccessKeyId=gone)  # deleted between the plan and its application
    applied = apply(client, USER, [Action("delete", gone, "ci")])
    assert applied.actions == [Action("delete", gone, "ci")]
    assert applied.created is None
    assert applied.secret_access_key is None
    assert calls.operations == ["DeleteAccessKey", "UntagUser"]
    assert iam_tags(reader, USER) == {kept: "other"}


def test_read_user_keys(client: t.Any, calls: CallLog, reader: t.Any) -> None:
    first, second = make_user(reader, USER, [("Inactive", "ci"), ("Active", None)])
    reader.tag_user(UserName=USER, Tags=[{"Key": "team", "Value": "platform"}])  # unrelated tags are ignored
    user_keys = read_user_keys(client, USER)
    assert user_keys.exists is True
    assert user_keys.user_name == USER
    assert [key.to_result() for key in user_keys.keys] == iam_keys(reader, USER)
    assert [(key.access_key_id, key.description) for key in user_keys.keys] == [(first, "ci"), (second, None)]
    assert all(key.create_date.tzinfo is datetime.timezone.utc for key in user_keys.keys)
    now = datetime.datetime.now(datetime.timezone.utc)
    assert user_keys.server_time is not None
    assert abs((user_keys.server_time - now).total_seconds()) < 60
    assert calls.operations == ["ListAccessKeys", "ListUserTags"]


def test_read_user_keys_missing_user(client: t.Any, calls: CallLog) -> None:
    user_keys = read_user_keys(client, "ghost")
    assert (user_keys.exists, user_keys.keys, user_keys.server_time) == (False, [], None)
    assert calls.operations == ["ListAccessKeys"]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param(
            {"date": "Sat, 28 Nov 2026 08:57:20 GMT"},
            datetime.datetime(2026, 11, 28, 8, 57, 20, tzinfo=datetime.timezone.utc),
            id="gmt",
        ),
        pytest.param(
            {"date": "Sat, 28 Nov 2026 09:57:20 +0100"},
            datetime.datetime(2026, 11, 28, 8, 57, 20, tzinfo=datetime.timezone.utc),
            id="offset-to-utc",
        ),
        pytest.param({}, None, id="missing"),
        pytest.param({"date": ""}, None, id="empty"),
        pytest.param({"date": "yesterday"}, None, id="garbage"),
    ],
)
def test_server_time(headers: dict[str, str], expected: datetime.datetime | None) -> None:
    assert server_time(headers) == expected
