# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime

import pytest
from unit_tasks import key_request

from ansible_collections.keyguard.aws.plugins.module_utils._aws import AwsError
from ansible_collections.keyguard.aws.plugins.module_utils._key_plan import KeyRequest, plan, project
from ansible_collections.keyguard.aws.plugins.module_utils._key_plan import target_key as key_of_interest
from ansible_collections.keyguard.aws.plugins.module_utils._key_types import (
    ACTIVE,
    INACTIVE,
    AccessKey,
    Action,
    keys_in_scope,
    sort_keys,
)

# Pure tests of the planner: plain AccessKey objects, no AWS, no botocore client.

USER = "alice"
A = "AKIAAAAAAAAAAAAAAAA1"  # the older key
B = "AKIABBBBBBBBBBBBBBB2"  # the newer key
X = "AKIAXXXXXXXXXXXXXXX9"  # a key the user does not have
NEW = "AKIANNNNNNNNNNNNNNN3"  # the key a create makes


def day(number: int) -> datetime.datetime:
    return datetime.datetime(2026, 1, number, 12, 0, tzinfo=datetime.timezone.utc)


def key(key_id: str | None, status: str = ACTIVE, on: int = 1, description: str | None = None) -> AccessKey:
    return AccessKey(key_id, USER, status, day(on) if key_id is not None else None, description)


def request(state: str = "present", key_id: str | None = None, description: str | None = None) -> KeyRequest:
    return KeyRequest(user_name=USER, access_key_id=key_id, description=description, state=state)


def placeholder(description: str | None = None) -> AccessKey:
    return AccessKey(None, USER, ACTIVE, None, description)


CREATE = Action("create", None)


def describe_new(description: str) -> Action:
    return Action("describe", None, description)


# (keys, request, expected actions). A is always older than B.
PLAN_CASES = [
    # ---- without id, state=present ------------------------------------------------------------
    pytest.param([], request("present"), [CREATE], id="present-nodesc-0keys-creates"),
    pytest.param([key(A)], request("present"), [], id="present-nodesc-1active-noop"),
    pytest.param([key(A, INACTIVE)], request("present"), [], id="present-nodesc-1inactive-noop"),
    pytest.param([key(A), key(B, INACTIVE, 2)], request("present"), [], id="present-nodesc-2mixed-noop"),
    pytest.param([key(A, INACTIVE), key(B, INACTIVE, 2)], request("present"), [], id="present-nodesc-2inactive-noop"),
    pytest.param([], request("present", description="ci"), [CREATE, describe_new("ci")], id="present-desc-0keys"),
    pytest.param([key(A, description="ci")], request("present", description="ci"), [], id="present-desc-1match"),
    pytest.param(
        [key(A, INACTIVE, description="ci")],
        request("present", description="ci"),
        [],
        id="present-desc-1match-inactive-noop",
    ),
    pytest.param(
        [key(A, description="other")],
        request("present", description="ci"),
        [CREATE, describe_new("ci")],
        id="present-desc-1other-creates",
    ),
    pytest.param(
        [key(A)], request("present", description="ci"), [CREATE, describe_new("ci")], id="present-desc-1undescribed"
    ),
    pytest.param(
        [key(A), key(B, INACTIVE, 2, "ci")],
        request("present", description="ci"),
        [],
        id="present-desc-2keys-one-in-scope",
    ),
    # ---- without id, state=active -------------------------------------------------------------
    pytest.param([], request("active"), [CREATE], id="active-nodesc-0keys-creates"),
    pytest.param([key(A)], request("active"), [], id="active-nodesc-1active-noop"),
    pytest.param([key(A, INACTIVE)], request("active"), [CREATE], id="active-nodesc-1inactive-creates-not-reactivates"),
    pytest.param([key(A, INACTIVE), key(B, on=2)], request("active"), [], id="active-nodesc-2mixed-noop"),
    pytest.param([key(A), key(B, on=2)], request("active"), [], id="active-nodesc-2active-noop"),
    pytest.param([], request("active", description="ci"), [CREATE, describe_new("ci")], id="active-desc-0keys"),
    pytest.param([key(A, description="ci")], request("active", description="ci"), [], id="active-desc-1match"),
    pytest.param(
        [key(A, INACTIVE, description="ci")],
        request("active", description="ci"),
        [CREATE, describe_new("ci")],
        id="active-desc-1inactive-match-creates-not-reactivates",
    ),
    pytest.param(
        [key(A, description="other")],
        request("active", description="ci"),
        [CREATE, describe_new("ci")],
        id="active-desc-1active-other-creates",
    ),
    pytest.param(
        [key(A, INACTIVE, description="ci"), key(B, on=2, description="ci")],
        request("active", description="ci"),
        [],
        id="active-desc-2match-one-active-noop",
    ),
    # ---- without id, state=inactive -----------------------------------------------------------
    pytest.param([], request("inactive"), [], id="inactive-nodesc-0keys-noop"),
    pytest.param([key(A)], request("inactive"), [Action("deactivate", A)], id="inactive-nodesc-1active"),
    pytest.param([key(A, INACTIVE)], request("inactive"), [], id="inactive-nodesc-1inactive-noop"),
    pytest.param(
        [key(A), key(B, INACTIVE, 2)], request("inactive"), [Action("deactivate", A)], id="inactive-nodesc-2mixed"
    ),
    pytest.param(
        [key(A), key(B, on=2)],
        request("inactive"),
        [Action("deactivate", A), Action("deactivate", B)],
        id="inactive-nodesc-2active",
    ),
    pytest.param(
        [key(B, on=2), key(A)],
        request("inactive"),
        [Action("deactivate", A), Action("deactivate", B)],
        id="inactive-nodesc-2active-unsorted-input-oldest-first",
    ),
    pytest.param([], request("inactive", description="ci"), [], id="inactive-desc-0keys-noop"),
    pytest.param([key(A, description="other")], request("inactive", description="ci"), [], id="inactive-desc-1other"),
    pytest.param(
        [key(A, description="ci"), key(B, on=2, description="other")],
        request("inactive", description="ci"),
        [Action("deactivate", A)],
        id="inactive-desc-2keys-only-scope",
    ),
    pytest.param(
        [key(A, description="ci"), key(B, on=2, description="ci")],
        request("inactive", description="ci"),
        [Action("deactivate", A), Action("deactivate", B)],
        id="inactive-desc-2keys-both-in-scope",
    ),
    # ---- without id, state=absent -------------------------------------------------------------
    pytest.param([], request("absent"), [], id="absent-nodesc-0keys-noop"),
    pytest.param([key(A, INACTIVE)], request("absent"), [Action("delete", A)], id="absent-nodesc-1inactive"),
    pytest.param(
        [key(A, description="ci"), key(B, INACTIVE, 2)],
        request("absent"),
        [Action("delete", A, "ci"), Action("delete", B)],
        id="absent-nodesc-2mixed-carries-descriptions",
    ),
    pytest.param(
        [key(B, INACTIVE, 2), key(A)],
        request("absent"),
        [Action("delete", A), Action("delete", B)],
        id="absent-nodesc-2keys-unsorted-input-oldest-first",
    ),
    pytest.param([], request("absent", description="ci"), [], id="absent-desc-0keys-noop"),
    pytest.param(
        [key(A, description="ci"), key(B, INACTIVE, 2, "other")],
        request("absent", description="ci"),
        [Action("delete", A, "ci")],
        id="absent-desc-deletes-only-scope",
    ),
    pytest.param(
        [key(A, description="other"), key(B, on=2)],
        request("absent", description="ci"),
        [],
        id="absent-desc-nothing-in-scope-noop",
    ),
    pytest.param(
        [key(A, INACTIVE, description="ci"), key(B, on=2, description="ci")],
        request("absent", description="ci"),
        [Action("delete", A, "ci"), Action("delete", B, "ci")],
        id="absent-desc-2keys-both-in-scope",
    ),
    # ---- with id, state=present ---------------------------------------------------------------
    pytest.param([key(A)], request("present", A), [], id="id-present-active-noop"),
    pytest.param([key(A, INACTIVE)], request("present", A), [], id="id-present-inactive-status-untouched"),
    pytest.param([key(A, INACTIVE), key(B, on=2)], request("present", A), [], id="id-present-2keys-noop"),
    pytest.param(
        [key(A)], request("present", A, "ci"), [Action("describe", A, "ci")], id="id-present-desc-new-describes"
    ),
    pytest.param([key(A, description="ci")], request("present", A, "ci"), [], id="id-present-desc-same-noop"),
    pytest.param(
        [key(A, INACTIVE, description="other")],
        request("present", A, "ci"),
        [Action("describe", A, "ci")],
        id="id-present-desc-differs-describes-status-untouched",
    ),
    pytest.param(
        [key(A), key(B, on=2)],
        request("present", B, "ci"),
        [Action("describe", B, "ci")],
        id="id-present-desc-2keys-no-limit-error",
    ),
    # ---- with id, state=active ----------------------------------------------------------------
    pytest.param([key(A)], request("active", A), [], id="id-active-already-active-noop"),
    pytest.param([key(A, INACTIVE)], request("active", A), [Action("activate", A)], id="id-active-activates"),
    pytest.param(
        [key(A, INACTIVE, description="other")],
        request("active", A, "ci"),
        [Action("activate", A), Action("describe", A, "ci")],
        id="id-active-activates-then-describes",
    ),
    pytest.param(
        [key(A, INACTIVE), key(B, INACTIVE, 2)],
        request("active", B),
        [Action("activate", B)],
        id="id-active-2keys-only-that-key",
    ),
    # ---- with id, state=inactive --------------------------------------------------------------
    pytest.param([key(A)], request("inactive", A), [Action("deactivate", A)], id="id-inactive-deactivates"),
    pytest.param([key(A, INACTIVE)], request("inactive", A), [], id="id-inactive-already-inactive-noop"),
    pytest.param(
        [key(A), key(B, on=2)], request("inactive", B), [Action("deactivate", B)], id="id-inactive-2keys-only-that-key"
    ),
    pytest.param(
        [key(A)],
        request("inactive", A, "ci"),
        [Action("deactivate", A), Action("describe", A, "ci")],
        id="id-inactive-deactivates-then-describes",
    ),
    pytest.param(
        [key(A, INACTIVE, description="ci")], request("inactive", A, "ci"), [], id="id-inactive-desc-same-noop"
    ),
    # ---- with id, state=absent ----------------------------------------------------------------
    pytest.param([key(A, description="ci")], request("absent", A), [Action("delete", A, "ci")], id="id-absent-deletes"),
    pytest.param([key(A, INACTIVE)], request("absent", A), [Action("delete", A)], id="id-absent-undescribed"),
    pytest.param(
        [key(A), key(B, INACTIVE, 2)], request("absent", B), [Action("delete", B)], id="id-absent-2keys-only-that-key"
    ),
    pytest.param([key(B, on=2)], request("absent", A), [], id="id-absent-not-found-noop"),
    pytest.param([], request("absent", A), [], id="id-absent-0keys-noop"),
    pytest.param(
        [key(A, description="ci")],
        request("absent", A, "other"),
        [Action("delete", A, "ci")],
        id="id-absent-id-wins-over-description",
    ),
]


@pytest.mark.parametrize(("keys", "req", "expected"), PLAN_CASES)
def test_plan(keys: list[AccessKey], req: KeyRequest, expected: list[Action]) -> None:
    before = list(keys)
    assert plan(keys, req, USER).actions == expected
    assert keys == before  # the planner never mutates its input


@pytest.mark.parametrize(("keys", "req", "expected"), PLAN_CASES)
def test_plan_converges(keys: list[AccessKey], req: KeyRequest, expected: list[Action]) -> None:
    """After the planned actions, planning again gives nothing to do (with a placeholder and with a real key)."""
    actions = plan(keys, req, USER).actions
    assert plan(project(keys, actions, USER), req, USER).actions == []
    created = AccessKey(NEW, USER, ACTIVE, day(20))
    after = project(keys, actions, USER, created)
    assert plan(after, req, USER).actions == []
    if CREATE in expected:
        assert [k.access_key_id for k in after][-1] == NEW
    assert len(after) <= 2


def limit_message(listed: str) -> str:
    return (
        f"cannot create an access key for user {USER}: it already has 2 keys, "
        f"the most IAM allows ({listed}); delete one or pass its id"
    )


PLAN_ERROR_CASES = [
    pytest.param(
        [key(A, INACTIVE), key(B, INACTIVE, 2)],
        request("active"),
        limit_message(f"{A} (Inactive), {B} (Inactive)"),
        id="limit-active-2inactive",
    ),
    pytest.param(
        [key(A), key(B, INACTIVE, 2)],
        request("present", description="ci"),
        limit_message(f"{A} (Active), {B} (Inactive)"),
        id="limit-present-desc-none-in-scope",
    ),
    pytest.param(
        [key(A, description="other"), key(B, INACTIVE, 2, "ci")],
        request("active", description="ci"),
        limit_message(f"{A} (Active), {B} (Inactive)"),
        id="limit-active-desc-scope-inactive",
    ),
    pytest.param(
        [key(B, INACTIVE, 2), key(A)],
        request("active", description="ci"),
        limit_message(f"{A} (Active), {B} (Inactive)"),
        id="limit-lists-oldest-first",
    ),
    pytest.param([], request("present", A), f"access key {A} does not exist for user {USER}", id="id-present-0keys"),
    pytest.param(
        [key(B, on=2)], request("present", A), f"access key {A} does not exist for user {USER}", id="id-present-other"
    ),
    pytest.param(
        [key(B, on=2)], request("active", A), f"access key {A} does not exist for user {USER}", id="id-active"
    ),
    pytest.param(
        [key(A), key(B, on=2)],
        request("inactive", X),
        f"access key {X} does not exist for user {USER}",
        id="id-inactive-2keys",
    ),
    pytest.param(
        [key(B, on=2)],
        request("present", A, "ci"),
        f"access key {A} does not exist for user {USER}",
        id="id-present-desc",
    ),
]


@pytest.mark.parametrize(("keys", "req", "message"), PLAN_ERROR_CASES)
def test_plan_errors(keys: list[AccessKey], req: KeyRequest, message: str) -> None:
    with pytest.raises(AwsError) as excinfo:
        plan(keys, req, USER)
    assert str(excinfo.value) == message
    assert excinfo.value.code is None
    assert excinfo.value.result == {}


# ---------------------------------------------------------------------------------------------
# sort_keys / keys_in_scope
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "expected_ids"),
    [
        pytest.param([], [], id="empty"),
        pytest.param([key(B, on=2), key(A)], [A, B], id="oldest-first"),
        pytest.param([key(A), key(B, on=2)], [A, B], id="already-sorted"),
        pytest.param([placeholder(), key(B, on=2), key(A)], [A, B, None], id="planned-key-last"),
        pytest.param([key(B), key(A)], [A, B], id="same-date-by-id"),
    ],
)
def test_sort_keys(keys: list[AccessKey], expected_ids: list[str | None]) -> None:
    original = list(keys)
    result = sort_keys(keys)
    assert [k.access_key_id for k in result] == expected_ids
    assert keys == original
    assert result is not keys


@pytest.mark.parametrize(
    ("description", "expected_ids"),
    [
        pytest.param(None, [A, B, X, NEW], id="no-description-all-keys"),
        pytest.param("ci", [A, X], id="matching-description"),
        pytest.param("other", [B], id="other-description"),
        pytest.param("nope", [], id="no-match"),
        pytest.param("", [], id="empty-description-does-not-match-undescribed"),
    ],
)
def test_keys_in_scope(description: str | None, expected_ids: list[str]) -> None:
    keys = [key(A, description="ci"), key(B, on=2, description="other"), key(X, on=3, description="ci"), key(NEW, on=4)]
    result = keys_in_scope(keys, description)
    assert [k.access_key_id for k in result] == expected_ids
    assert result is not keys


# ---------------------------------------------------------------------------------------------
# project: the keys after each kind of action
# ---------------------------------------------------------------------------------------------

CREATED = AccessKey(NEW, USER, ACTIVE, day(20))

PROJECT_CASES = [
    pytest.param([key(A)], [], None, [key(A)], id="no-actions"),
    pytest.param([key(B, on=2), key(A)], [], None, [key(A), key(B, on=2)], id="no-actions-sorted"),
    pytest.param([key(A)], [CREATE], None, [key(A), placeholder()], id="create-placeholder"),
    pytest.param([], [CREATE], CREATED, [CREATED], id="create-real-key"),
    pytest.param(
        [key(A)], [CREATE, describe_new("ci")], None, [key(A), placeholder("ci")], id="create-describe-placeholder"
    ),
    pytest.param(
        [key(A)],
        [CREATE, describe_new("ci")],
        CREATED,
        [key(A), AccessKey(NEW, USER, ACTIVE, day(20), "ci")],
        id="create-describe-real-key",
    ),
    pytest.param(
        [key(A)],
        [CREATE, Action("describe", NEW, "ci")],
        CREATED,
        [key(A), AccessKey(NEW, USER, ACTIVE, day(20), "ci")],
        id="create-describe-by-created-id",
    ),
    pytest.param(
        [key(A, INACTIVE, description="ci")],
        [Action("activate", A)],
        None,
        [key(A, ACTIVE, description="ci")],
        id="activate",
    ),
    pytest.param(
        [key(A, description="ci"), key(B, on=2)],
        [Action("deactivate", A)],
        None,
        [key(A, INACTIVE, description="ci"), key(B, on=2)],
        id="deactivate",
    ),
    pytest.param([key(A), key(B, INACTIVE, 2)], [Action("delete", B)], None, [key(A)], id="delete-keeps-other-key"),
    pytest.param(
        [key(A, description="ci"), key(B, on=2)],
        [Action("delete", A, "ci"), Action("delete", B)],
        None,
        [],
        id="delete-all",
    ),
    pytest.param(
        [key(A, description="old")],
        [Action("describe", A, "new")],
        None,
        [key(A, description="new")],
        id="describe-existing",
    ),
    pytest.param(
        [key(A)],
        [Action("deactivate", A), Action("describe", A, "ci")],
        None,
        [key(A, INACTIVE, description="ci")],
        id="deactivate-then-describe",
    ),
    pytest.param(
        [key(A, INACTIVE)],
        [CREATE],
        CREATED,
        [key(A, INACTIVE), CREATED],
        id="create-leaves-inactive-key-alone",
    ),
]


@pytest.mark.parametrize(("keys", "actions", "created", "expected"), PROJECT_CASES)
def test_project(
    keys: list[AccessKey], actions: list[Action], created: AccessKey | None, expected: list[AccessKey]
) -> None:
    original = list(keys)
    assert project(keys, actions, USER, created) == expected
    assert keys == original


def test_project_placeholder_result_shape() -> None:
    (new_key,) = project([], [CREATE, describe_new("ci")], USER)
    assert new_key.to_result() == {
        "access_key_id": None,
        "user_name": USER,
        "status": "Active",
        "create_date": None,
        "description": "ci",
    }


def test_project_real_key_result_shape() -> None:
    (new_key,) = project([], [CREATE], USER, CREATED)
    assert new_key.to_result() == {
        "access_key_id": NEW,
        "user_name": USER,
        "status": "Active",
        "create_date": "2026-01-20T12:00:00+00:00",
        "description": None,
    }


# ---------------------------------------------------------------------------------------------
# key_of_interest
# ---------------------------------------------------------------------------------------------

KEY_OF_INTEREST_CASES = [
    pytest.param([key(A), key(B, on=2)], request("present", A), None, key(A), id="id-older-key"),
    pytest.param([key(A), key(B, INACTIVE, 2)], request("inactive", B), None, key(B, INACTIVE, 2), id="id-inactive"),
    pytest.param([key(B, on=2)], request("absent", A), None, None, id="id-gone"),
    pytest.param(
        [key(A), AccessKey(NEW, USER, ACTIVE, day(20), "ci")],
        request("present", description="ci"),
        CREATED,
        AccessKey(NEW, USER, ACTIVE, day(20), "ci"),
        id="created-key-as-listed",
    ),
    pytest.param([key(A)], request("present"), CREATED, CREATED, id="created-key-not-listed"),
    pytest.param([key(A), placeholder()], request("active"), placeholder(), placeholder(), id="planned-key"),
    pytest.param([key(A), key(B, on=2)], request("present"), None, key(B, on=2), id="newest-active"),
    pytest.param([key(A), key(B, INACTIVE, 2)], request("present"), None, key(A), id="active-beats-newer-inactive"),
    pytest.param(
        [key(A, INACTIVE), key(B, INACTIVE, 2)], request("present"), None, key(B, INACTIVE, 2), id="newest-inactive"
    ),
    pytest.param([key(B, on=2), key(A)], request("present"), None, key(B, on=2), id="unsorted-input"),
    pytest.param([], request("absent"), None, None, id="no-keys"),
    pytest.param(
        [key(A, description="ci"), key(B, on=2, description="other")],
        request("present", description="ci"),
        None,
        key(A, description="ci"),
        id="scope-by-description",
    ),
    pytest.param(
        [key(A, description="other")], request("absent", description="ci"), None, None, id="scope-empty-after-delete"
    ),
]


@pytest.mark.parametrize(("keys", "req", "created", "expected"), KEY_OF_INTEREST_CASES)
def test_key_of_interest(
    keys: list[AccessKey], req: KeyRequest, created: AccessKey | None, expected: AccessKey | None
) -> None:
    assert key_of_interest(keys, req, created) == expected


# ---------------------------------------------------------------------------------------------
# KeyRequest.from_params / validate
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param(
            {"user_name": "alice", "id": None, "description": None, "state": "present"},
            KeyRequest("alice", None, None, "present"),
            id="user-only",
        ),
        pytest.param({"user_name": "alice"}, KeyRequest("alice", None, None, "present"), id="state-defaults-present"),
        pytest.param({"id": A, "state": "inactive"}, KeyRequest(None, A, None, "inactive"), id="id-only"),
        pytest.param(
            {"user_name": "alice", "id": A, "description": "ci", "state": "absent", "region": "eu-west-1"},
            KeyRequest("alice", A, "ci", "absent"),
            id="all-options-connection-ignored",
        ),
        pytest.param({"user_name": "a" * 64}, KeyRequest("a" * 64, None, None, "present"), id="user-64-chars"),
        pytest.param({"user_name": "a"}, KeyRequest("a", None, None, "present"), id="user-1-char"),
        pytest.param(
            {"user_name": "svc+ci=x,y.z@corp_-1"},
            KeyRequest("svc+ci=x,y.z@corp_-1", None, None, "present"),
            id="user-all-punctuation",
        ),
        pytest.param({"id": "A" * 16}, KeyRequest(None, "A" * 16, None, "present"), id="id-16-chars"),
        pytest.param({"id": "A1" * 64}, KeyRequest(None, "A1" * 64, None, "present"), id="id-128-chars"),
        pytest.param(
            {"user_name": "alice", "description": "d" * 256},
            KeyRequest("alice", None, "d" * 256, "present"),
            id="description-256-chars",
        ),
        pytest.param(
            {"user_name": "alice", "description": ""}, KeyRequest("alice", None, "", "present"), id="description-empty"
        ),
        pytest.param(
            {"user_name": "alice", "description": "CI key: build/deploy = a+b - x@y_z"},
            KeyRequest("alice", None, "CI key: build/deploy = a+b - x@y_z", "present"),
            id="description-allowed-punctuation",
        ),
        pytest.param(
            {"user_name": "alice", "description": "Überprüfung 2026"},
            KeyRequest("alice", None, "Überprüfung 2026", "present"),
            id="description-unicode-letters",
        ),
    ],
)
def test_from_params(params: dict, expected: KeyRequest) -> None:
    assert key_request(params) == expected


USER_NAME_HELP = "(1-64 characters: letters, digits and + = , . @ _ -)"
ID_HELP = "is not a valid access key id (16-128 upper-case letters and digits)"
DESCRIPTION_CHARS = (
    "description may only contain letters, digits, spaces and _ . : / = + - @ (it is stored as an IAM user tag value)"
)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        pytest.param({}, "one of the following is required: user_name, id", id="nothing"),
        # An empty user name is most likely a templating slip: it is an error, never "no user given".
        pytest.param({"user_name": ""}, f"user_name '' is not a valid IAM user name {USER_NAME_HELP}", id="user-empty"),
        pytest.param(
            {"user_name": "", "id": A},
            f"user_name '' is not a valid IAM user name {USER_NAME_HELP}",
            id="user-empty-id",
        ),
        pytest.param({"user_name": None, "id": None}, "one of user_name or id is required", id="both-none"),
        pytest.param(
            {"user_name": "a" * 65},
            f"user_name {'a' * 65!r} is not a valid IAM user name {USER_NAME_HELP}",
            id="user-65-chars",
        ),
        pytest.param(
            {"user_name": "bob smith"},
            f"user_name 'bob smith' is not a valid IAM user name {USER_NAME_HELP}",
            id="user-space",
        ),
        pytest.param(
            {"user_name": "ops/bob"},
            f"user_name 'ops/bob' is not a valid IAM user name {USER_NAME_HELP}",
            id="user-slash",
        ),
        pytest.param(
            {"user_name": "bob!"}, f"user_name 'bob!' is not a valid IAM user name {USER_NAME_HELP}", id="user-bang"
        ),
        pytest.param(
            {"user_name": "bob:x"}, f"user_name 'bob:x' is not a valid IAM user name {USER_NAME_HELP}", id="user-colon"
        ),
        pytest.param(
            {"user_name": "bob#1", "id": A},
            f"user_name 'bob#1' is not a valid IAM user name {USER_NAME_HELP}",
            id="user-hash-with-id",
        ),
        pytest.param({"id": ""}, f"id '' {ID_HELP}", id="id-empty"),
        pytest.param({"id": "akiaiosfodnn7example"}, f"id 'akiaiosfodnn7example' {ID_HELP}", id="id-lowercase"),
        pytest.param({"id": "AKIAiOSFODNN7EXAMPLE"}, f"id 'AKIAiOSFODNN7EXAMPLE' {ID_HELP}", id="id-one-lowercase"),
        pytest.param({"id": "AKIA123"}, f"id 'AKIA123' {ID_HELP}", id="id-7-chars"),
        pytest.param({"id": "A" * 15}, f"id '{'A' * 15}' {ID_HELP}", id="id-15-chars"),
        pytest.param({"id": "A" * 129}, f"id '{'A' * 129}' {ID_HELP}", id="id-129-chars"),
        pytest.param(
            {"user_name": "alice", "id": "AKIA-OSFODNN7EXAMPLE"}, f"id 'AKIA-OSFODNN7EXAMPLE' {ID_HELP}", id="id-dash"
        ),
        pytest.param(
            {"user_name": "alice", "id": " AKIAIOSFODNN7EXAMPLE"},
            f"id ' AKIAIOSFODNN7EXAMPLE' {ID_HELP}",
            id="id-leading-space",
        ),
        pytest.param(
            {"user_name": "alice", "description": "d" * 257},
            "description is 257 characters long; IAM allows at most 256",
            id="description-257-chars",
        ),
        pytest.param({"user_name": "alice", "description": "ci;prod"}, DESCRIPTION_CHARS, id="description-semicolon"),
        pytest.param({"user_name": "alice", "description": "a,b"}, DESCRIPTION_CHARS, id="description-comma"),
        pytest.param({"user_name": "alice", "description": "<b>"}, DESCRIPTION_CHARS, id="description-angle"),
        pytest.param({"user_name": "alice", "description": "50%"}, DESCRIPTION_CHARS, id="description-percent"),
        pytest.param({"user_name": "alice", "description": "bob's"}, DESCRIPTION_CHARS, id="description-quote"),
        pytest.param({"user_name": "alice", "description": "a*"}, DESCRIPTION_CHARS, id="description-star"),
        pytest.param(
            {"user_name": "alice", "state": "enabled"},
            "value of state must be one of: present, active, inactive, absent, got: enabled",
            id="state-unknown",
        ),
        pytest.param(
            {"user_name": "alice", "state": "Active"},
            "value of state must be one of: present, active, inactive, absent, got: Active",
            id="state-wrong-case",
        ),
    ],
)
def test_from_params_rejects(params: dict, message: str) -> None:
    with pytest.raises(AwsError) as excinfo:
        key_request(params)
    assert str(excinfo.value) == message


@pytest.mark.parametrize(
    ("req", "message"),
    [
        pytest.param(
            KeyRequest("", None, None, "present"),
            f"user_name '' is not a valid IAM user name {USER_NAME_HELP}",
            id="user-empty",
        ),
        pytest.param(KeyRequest("alice", "", None, "present"), f"id '' {ID_HELP}", id="id-empty"),
    ],
)
def test_validate_rejects(req: KeyRequest, message: str) -> None:
    with pytest.raises(AwsError) as excinfo:
        req.validate()
    assert str(excinfo.value) == message


@pytest.mark.parametrize(
    ("params", "message"),
    [
        # A trailing newline must not slip through: `$` in a re.match pattern also matches before a final "\n".
        pytest.param(
            {"user_name": "alice", "id": "AKIAIOSFODNN7EXAMPLE\n"},
            f"id 'AKIAIOSFODNN7EXAMPLE\\n' {ID_HELP}",
            id="id-trailing-newline",
        ),
        pytest.param(
            {"user_name": "alice\n"},
            f"user_name 'alice\\n' is not a valid IAM user name {USER_NAME_HELP}",
            id="user-trailing-newline",
        ),
        # IAM tag values allow letters, digits, *separators* (\p{Z}) and _ . : / = + - @; tab and newline are control
        # characters IAM rejects, so TagUser would fail after a CreateAccessKey already happened.
        pytest.param({"user_name": "alice", "description": "ci\tkey"}, DESCRIPTION_CHARS, id="description-tab"),
        pytest.param({"user_name": "alice", "description": "ci\nkey"}, DESCRIPTION_CHARS, id="description-newline"),
    ],
)
def test_from_params_rejects_control_characters(params: dict, message: str) -> None:
    with pytest.raises(AwsError) as excinfo:
        key_request(params)
    assert str(excinfo.value) == message


@pytest.mark.parametrize("description", [None, "ci"], ids=["nodesc", "desc"])
@pytest.mark.parametrize(
    "keys",
    [[], [key(B, on=2)], [key(B, INACTIVE, 2), key(X, on=3, description="ci")]],
    ids=["0keys", "1other-key", "2other-keys"],
)
@pytest.mark.parametrize("state", ["present", "active", "inactive", "absent"])
def test_plan_id_not_found(state: str, keys: list[AccessKey], description: str | None) -> None:
    req = request(state, A, description)
    if state == "absent":
        assert plan(keys, req, USER).actions == []
        return
    with pytest.raises(AwsError) as excinfo:
        plan(keys, req, USER)
    assert str(excinfo.value) == f"access key {A} does not exist for user {USER}"
