# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime

import pytest
from unit_tasks import key_request

from ansible_collections.keyguard.aws.plugins.module_utils._aws import AwsError
from ansible_collections.keyguard.aws.plugins.module_utils._key_plan import (
    KeyLimitError,
    KeyRequest,
    key_limit_message,
    keys_needing_last_use,
    plan,
    project,
)
from ansible_collections.keyguard.aws.plugins.module_utils._key_types import (
    ACTIVE,
    INACTIVE,
    AccessKey,
    Action,
    LastUse,
    whole_days,
)

# Pure table tests of the rotation planner (rotate_after_days, previous_keys, previous_keys_idle_hours):
# plain AccessKey objects and fixed datetimes, no AWS.

USER = "alice"
A = "AKIAAAAAAAAAAAAAAAA1"  # the older key
B = "AKIABBBBBBBBBBBBBBB2"  # the newer key
NEW = "AKIANNNNNNNNNNNNNNN3"  # the key a create makes
UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # IAM's clock for every plan below

CREATE = Action("create", None)


def ago(days: float = 0, hours: float = 0, seconds: float = 0) -> datetime.datetime:
    return NOW - datetime.timedelta(days=days, hours=hours, seconds=seconds)


def key(key_id: str, status: str = ACTIVE, days: float = 0, description: str | None = None) -> AccessKey:
    """A key created ``days`` before NOW."""
    return AccessKey(key_id, USER, status, ago(days), description)


def req(
    state: str = "active",
    rotate: int | None = 90,
    previous: str = "keep",
    idle: int = 0,
    description: str | None = None,
) -> KeyRequest:
    """A validated request, built the way the module builds it."""
    return key_request(
        {
            "user_name": USER,
            "state": state,
            "description": description,
            "rotate_after_days": rotate,
            "previous_keys": previous,
            "previous_keys_idle_hours": idle,
        }
    )


def describe_new(description: str) -> Action:
    return Action("describe", None, description)


def used(hours: float, service: str = "s3", region: str = "eu-west-1") -> LastUse:
    return LastUse(ago(hours=hours), service, region)


# ---------------------------------------------------------------------------------------------
# rotation: (keys, request, expected actions, rotated)
# ---------------------------------------------------------------------------------------------

ROTATION_CASES = [
    # ---- age against rotate_after_days ---------------------------------------------------------
    pytest.param([key(A, days=89)], req(), [], False, id="younger-no-change"),
    pytest.param([key(A, days=90)], req(rotate=91), [], False, id="one-day-short-no-change"),
    pytest.param(
        [AccessKey(A, USER, ACTIVE, ago(days=90) + datetime.timedelta(seconds=1))],
        req(),
        [],
        False,
        id="one-second-short-of-90-days-no-change",
    ),
    pytest.param([key(A, days=90)], req(), [CREATE], True, id="exactly-90-days-rotates"),
    pytest.param([key(A, days=91)], req(), [CREATE], True, id="older-rotates"),
    pytest.param([key(A, days=400)], req(), [CREATE], True, id="much-older-rotates"),
    pytest.param([key(A, days=1)], req(rotate=1), [CREATE], True, id="rotate-after-1-day"),
    pytest.param([key(A, days=91)], req(state="present"), [CREATE], True, id="state-present-rotates-too"),
    pytest.param(
        [key(A, days=91, description="ci")],
        req(description="ci"),
        [CREATE, describe_new("ci")],
        True,
        id="rotation-keeps-the-description",
    ),
    pytest.param(
        [key(A, days=91, description="ci")],
        req(state="present", description="ci"),
        [CREATE, describe_new("ci")],
        True,
        id="present-rotation-keeps-the-description",
    ),
    # ---- previous_keys on the rotating run: create first, then retire ----------------------------
    pytest.param(
        [key(A, days=91)],
        req(previous="deactivate"),
        [CREATE, Action("deactivate", A)],
        True,
        id="rotate-then-deactivate-previous",
    ),
    pytest.param(
        [key(A, days=91)], req(previous="delete"), [CREATE, Action("delete", A)], True, id="rotate-then-delete-previous"
    ),
    pytest.param(
        [key(A, days=91, description="ci")],
        req(previous="delete", description="ci"),
        [CREATE, describe_new("ci"), Action("delete", A, "ci")],
        True,
        id="rotate-describe-then-delete-previous-with-its-tag",
    ),
    # ---- the current key is the newest Active key in scope ----------------------------------------
    pytest.param([key(A, days=200), key(B, days=10)], req(), [], False, id="newest-active-young-no-rotation"),
    pytest.param(
        [key(A, days=200), key(B, days=10)],
        req(previous="deactivate"),
        [Action("deactivate", A)],
        False,
        id="newest-active-young-old-active-deactivated",
    ),
    pytest.param(
        [key(A, INACTIVE, days=5)], req(state="present"), [], False, id="present-inactive-only-is-not-rotated"
    ),
    # ---- the two-key limit: delete the oldest Inactive key in scope first -------------------------
    pytest.param(
        [key(A, INACTIVE, days=200), key(B, days=91)],
        req(),
        [Action("delete", A), CREATE],
        True,
        id="limit-inactive-deleted-first",
    ),
    pytest.param(
        [key(A, INACTIVE, days=200), key(B, days=91)],
        req(previous="deactivate"),
        [Action("delete", A), CREATE, Action("deactivate", B)],
        True,
        id="limit-inactive-deleted-first-then-deactivate",
    ),
    pytest.param(
        [key(A, INACTIVE, days=200), key(B, days=91)],
        req(previous="delete"),
        [Action("delete", A), CREATE, Action("delete", B)],
        True,
        id="limit-inactive-deleted-first-then-delete",
    ),
    pytest.param(
        [key(A, days=100), key(B, INACTIVE, days=5)],
        req(),
        [Action("delete", B), CREATE],
        True,
        id="limit-newer-inactive-deleted-not-the-active",
    ),
    pytest.param(
        [key(A, INACTIVE, days=200, description="ci"), key(B, days=91, description="ci")],
        req(previous="deactivate", description="ci"),
        [Action("delete", A, "ci"), CREATE, describe_new("ci"), Action("deactivate", B)],
        True,
        id="limit-described-inactive-deleted-with-its-tag",
    ),
]


@pytest.mark.parametrize(("keys", "request_", "expected", "rotated"), ROTATION_CASES)
def test_rotation(keys: list[AccessKey], request_: KeyRequest, expected: list[Action], rotated: bool) -> None:
    before = list(keys)
    result = plan(keys, request_, USER, now=NOW, last_used={})
    assert result.actions == expected
    assert result.rotated is rotated
    assert result.retained == []
    assert result.warnings == []
    assert keys == before  # the planner never mutates its input


@pytest.mark.parametrize(("keys", "request_", "expected", "rotated"), ROTATION_CASES)
def test_rotation_converges(keys: list[AccessKey], request_: KeyRequest, expected: list[Action], rotated: bool) -> None:
    """Right after the planned actions (the new key made now), planning again changes nothing."""
    created = AccessKey(NEW, USER, ACTIVE, NOW)
    after = project(keys, plan(keys, request_, USER, now=NOW).actions, USER, created)
    again = plan(after, request_, USER, now=NOW)
    assert again.actions == []
    assert again.rotated is False
    assert len(after) <= 2
    if rotated:
        assert after[-1].access_key_id == NEW
        assert after[-1].status == ACTIVE


def test_order_create_before_retiring_and_make_room_delete_before_create() -> None:
    keys = [key(A, INACTIVE, days=300), key(B, days=120)]
    actions = plan(keys, req(previous="delete"), USER, now=NOW).actions
    names = [(action.action, action.access_key_id) for action in actions]
    create = names.index(("create", None))
    assert names.index(("delete", A)) < create  # making room comes first
    assert create < names.index(("delete", B))  # the working key goes only after the new one exists


# ---------------------------------------------------------------------------------------------
# the two-key limit without an Inactive key in scope: fail before anything changes
# ---------------------------------------------------------------------------------------------

LIMIT_CASES = [
    pytest.param([key(A, days=200), key(B, days=91)], req(), id="two-active-current-due"),
    pytest.param(
        [key(A, days=200), key(B, days=91)],
        req(previous="deactivate", idle=24),
        id="two-active-deactivate-older-in-use",
    ),
    pytest.param(
        [key(A, days=200), key(B, days=91)], req(previous="delete", idle=24), id="two-active-delete-older-in-use"
    ),
    pytest.param(
        [key(A, INACTIVE, days=200, description="other"), key(B, days=91, description="ci")],
        req(previous="delete", description="ci"),
        id="inactive-key-out-of-scope-is-never-deleted",
    ),
    pytest.param(
        [key(A, days=200, description="other"), key(B, days=91, description="ci")],
        req(description="ci"),
        id="active-key-out-of-scope",
    ),
    # the foundation rule: a task that does not manage the lifecycle never deletes a key to make room
    pytest.param(
        [key(A, INACTIVE, days=20), key(B, INACTIVE, days=10)],
        req(rotate=None),
        id="no-lifecycle-two-inactive-fails",
    ),
    pytest.param(
        [key(A, INACTIVE, days=20), key(B, INACTIVE, days=10)],
        req(rotate=None, idle=24),
        id="idle-hours-alone-do-not-manage-the-lifecycle",
    ),
    pytest.param(
        [key(A, days=20), key(B, INACTIVE, days=10, description="ci")],
        req(rotate=None, description="ci"),
        id="no-lifecycle-described-inactive-fails",
    ),
]


@pytest.mark.parametrize(("keys", "request_"), LIMIT_CASES)
def test_key_limit_fails_before_any_change(keys: list[AccessKey], request_: KeyRequest) -> None:
    before = list(keys)
    in_use = {k.access_key_id: used(hours=2) for k in keys}  # the idle guard, where asked for, keeps every key
    with pytest.raises(KeyLimitError) as excinfo:
        plan(keys, request_, USER, now=NOW, last_used=in_use)
    error = excinfo.value
    assert error.user_name == USER
    assert [k.access_key_id for k in error.keys] == [A, B]
    message = str(error)
    assert message.startswith(f"cannot create an access key for user {USER}: it already has 2 keys")
    assert f"{A} ({keys[0].status})" in message
    assert f"{B} ({keys[1].status})" in message
    assert error.result == {}
    assert keys == before


@pytest.mark.parametrize(
    ("keys", "request_", "expected"),
    [
        pytest.param(
            [key(A, INACTIVE, days=20), key(B, INACTIVE, days=10)],
            req(rotate=None, previous="deactivate"),
            [Action("delete", A), CREATE],
            id="previous-deactivate-makes-room",
        ),
        pytest.param(
            [key(A, INACTIVE, days=20), key(B, INACTIVE, days=10)],
            req(rotate=None, previous="delete"),
            [Action("delete", A), CREATE, Action("delete", B)],
            id="previous-delete-makes-room-and-retires-the-rest",
        ),
        pytest.param(
            [key(A, INACTIVE, days=20), key(B, INACTIVE, days=10)],
            req(rotate=30),
            [Action("delete", A), CREATE],
            id="rotate-after-days-makes-room-without-a-current-key",
        ),
        pytest.param(
            [key(A, days=20), key(B, INACTIVE, days=10, description="ci")],
            req(rotate=None, previous="deactivate", description="ci"),
            [Action("delete", B, "ci"), CREATE, describe_new("ci")],
            id="described-inactive-deleted-other-key-untouched",
        ),
    ],
)
def test_make_room_when_the_task_manages_the_lifecycle(
    keys: list[AccessKey], request_: KeyRequest, expected: list[Action]
) -> None:
    result = plan(keys, request_, USER, now=NOW)
    assert result.actions == expected
    assert result.rotated is False  # a key was missing, none was due


# ---------------------------------------------------------------------------------------------
# the two-key limit with two Active keys: a previous key that previous_keys retires anyway makes room
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "request_", "last_used", "expected", "retained"),
    [
        pytest.param(
            [key(A, days=2), key(B, days=1)],
            req(rotate=1, previous="delete", idle=24),
            {A: used(hours=30), B: used(hours=1)},
            [Action("delete", A), CREATE],
            [B],
            id="daily-delete-idle-older-key-makes-room-current-kept-in-use",
        ),
        pytest.param(
            [key(A, days=2), key(B, days=1)],
            req(rotate=1, previous="deactivate", idle=24),
            {A: used(hours=30), B: used(hours=1)},
            [Action("delete", A), CREATE],
            [B],
            id="daily-deactivate-idle-older-key-makes-room-current-kept-in-use",
        ),
        pytest.param(
            [key(A, days=2), key(B, days=1)],
            req(rotate=1, previous="delete", idle=24),
            {A: LastUse(), B: used(hours=30)},
            [Action("delete", A), CREATE, Action("delete", B)],
            [],
            id="never-used-older-key-makes-room-idle-current-retired-after-create",
        ),
        pytest.param(
            [key(A, days=200), key(B, days=91)],
            req(previous="delete"),
            {},
            [Action("delete", A), CREATE, Action("delete", B)],
            [],
            id="no-idle-guard-delete",
        ),
        pytest.param(
            [key(A, days=200), key(B, days=91)],
            req(previous="deactivate"),
            {},
            [Action("delete", A), CREATE, Action("deactivate", B)],
            [],
            id="no-idle-guard-deactivate",
        ),
        pytest.param(
            [key(A, INACTIVE, days=300), key(B, days=91)],
            req(previous="delete", idle=24),
            {A: used(hours=1), B: used(hours=1)},
            [Action("delete", A), CREATE],
            [B],
            id="an-inactive-key-still-goes-first-whatever-its-use",
        ),
        pytest.param(
            [key(A, days=200, description="ci"), key(B, days=91, description="ci")],
            req(previous="delete", idle=24, description="ci"),
            {A: used(hours=48), B: used(hours=1)},
            [Action("delete", A, "ci"), CREATE, describe_new("ci")],
            [B],
            id="described-idle-key-deleted-with-its-tag",
        ),
    ],
)
def test_make_room_counts_the_previous_keys_retired_this_run(
    keys: list[AccessKey],
    request_: KeyRequest,
    last_used: dict[str, LastUse],
    expected: list[Action],
    retained: list[str],
) -> None:
    result = plan(keys, request_, USER, now=NOW, last_used=last_used)
    assert result.actions == expected
    assert result.rotated is True
    assert result.retained == retained
    after = project(keys, result.actions, USER)
    assert len(after) <= 2


@pytest.mark.parametrize(
    ("keys", "last_used"),
    [
        pytest.param([key(A, days=2), key(B, days=1)], {A: used(hours=2), B: LastUse()}, id="older-key-in-use"),
        pytest.param(
            [key(A, days=2), key(B, days=1)], {A: used(hours=23 + 59 / 60), B: LastUse()}, id="one-minute-short"
        ),
    ],
)
def test_make_room_never_touches_a_key_in_use_or_the_current_key(
    keys: list[AccessKey], last_used: dict[str, LastUse]
) -> None:
    with pytest.raises(KeyLimitError):
        plan(keys, req(rotate=1, previous="delete", idle=24), USER, now=NOW, last_used=last_used)


def test_key_limit_message_names_status_and_last_use() -> None:
    """The module re-renders the planner's KeyLimitError with each key's last use."""
    keys = [key(A, days=200), key(B, days=91)]
    with pytest.raises(KeyLimitError) as excinfo:
        plan(keys, req(), USER, now=NOW)
    message = key_limit_message(USER, excinfo.value.keys, {A: LastUse(), B: used(2, "iam", "us-east-1")})
    assert message == (
        f"cannot create an access key for user {USER}: it already has 2 keys, the most IAM allows "
        f"({A} (Active, never used), {B} (Active, last used 2026-06-01T10:00:00+00:00 (iam us-east-1))); "
        "delete one or pass its id"
    )


# ---------------------------------------------------------------------------------------------
# previous_keys on runs that do not rotate (declarative, every run)
# ---------------------------------------------------------------------------------------------

PREVIOUS_KEYS_CASES = [
    pytest.param(
        [key(A, days=30), key(B, days=10)],
        req(previous="deactivate"),
        [Action("deactivate", A)],
        id="deactivate-older-active",
    ),
    pytest.param(
        [key(A, days=30), key(B, days=10)], req(previous="delete"), [Action("delete", A)], id="delete-older-active"
    ),
    pytest.param(
        [key(A, INACTIVE, days=30), key(B, days=10)],
        req(previous="deactivate"),
        [],
        id="deactivate-already-inactive-noop",
    ),
    pytest.param(
        [key(A, INACTIVE, days=30), key(B, days=10)],
        req(previous="delete"),
        [Action("delete", A)],
        id="delete-inactive-previous",
    ),
    pytest.param(
        [key(A, days=30), key(B, days=10)],
        req(rotate=None, previous="deactivate"),
        [Action("deactivate", A)],
        id="without-rotate-after-days",
    ),
    pytest.param([key(A, days=30), key(B, days=10)], req(rotate=None, previous="keep"), [], id="keep-noop"),
    pytest.param(
        [key(A, days=30), key(B, days=10)],
        req(state="present", previous="deactivate"),
        [Action("deactivate", A)],
        id="state-present-deactivate",
    ),
    pytest.param(
        [key(A, days=30, description="ci"), key(B, days=10, description="ci")],
        req(previous="delete", description="ci"),
        [Action("delete", A, "ci")],
        id="delete-carries-the-description-tag",
    ),
    pytest.param([key(B, days=10)], req(previous="delete"), [], id="only-the-current-key-noop"),
    pytest.param(
        [key(A, days=30), key(B, INACTIVE, days=10)],
        req(previous="delete"),
        [Action("delete", B)],
        id="newer-inactive-is-previous-current-is-newest-active",
    ),
    # ---- description scope: keys outside it are never touched ------------------------------------
    pytest.param(
        [key(A, days=300), key(B, days=10, description="ci")],
        req(previous="delete", description="ci"),
        [],
        id="undescribed-old-key-outside-scope-untouched",
    ),
    pytest.param(
        [key(A, days=30, description="other"), key(B, days=10, description="ci")],
        req(previous="deactivate", description="ci"),
        [],
        id="other-description-untouched",
    ),
    pytest.param(
        [key(A, days=300, description="other")],
        req(previous="delete", description="ci"),
        [CREATE, describe_new("ci")],
        id="empty-scope-creates-other-key-untouched",
    ),
    pytest.param(
        [key(A, days=300, description="other"), key(B, days=91, description="ci")],
        req(rotate=None, previous="delete", description="ci"),
        [],
        id="old-other-key-not-a-previous-key",
    ),
    # ---- state=present with only Inactive keys in scope: the newest one is kept -------------------
    pytest.param(
        [key(A, INACTIVE, days=30)],
        req(state="present", previous="delete"),
        [],
        id="present-one-inactive-delete-keeps-it",
    ),
    pytest.param(
        [key(A, INACTIVE, days=30), key(B, INACTIVE, days=10)],
        req(state="present", previous="delete"),
        [Action("delete", A)],
        id="present-two-inactive-delete-keeps-the-newest",
    ),
    pytest.param(
        [key(A, INACTIVE, days=30), key(B, INACTIVE, days=10)],
        req(state="present", rotate=None, previous="delete"),
        [Action("delete", A)],
        id="present-two-inactive-delete-keeps-the-newest-no-rotate",
    ),
    pytest.param(
        [key(A, INACTIVE, days=30), key(B, INACTIVE, days=10)],
        req(state="present", previous="deactivate"),
        [],
        id="present-two-inactive-deactivate-noop",
    ),
    pytest.param(
        [key(A, INACTIVE, days=30, description="ci"), key(B, days=10)],
        req(state="present", previous="delete", description="ci"),
        [],
        id="present-only-inactive-in-scope-delete-keeps-it",
    ),
]


@pytest.mark.parametrize(("keys", "request_", "expected"), PREVIOUS_KEYS_CASES)
def test_previous_keys(keys: list[AccessKey], request_: KeyRequest, expected: list[Action]) -> None:
    result = plan(keys, request_, USER, now=NOW, last_used={})
    assert result.actions == expected
    assert result.rotated is False
    assert result.retained == []
    assert result.warnings == []
    # converges: the next run has nothing to do
    created = AccessKey(NEW, USER, ACTIVE, NOW)
    assert plan(project(keys, result.actions, USER, created), request_, USER, now=NOW).actions == []


@pytest.mark.parametrize("previous", ["deactivate", "delete"])
def test_state_present_never_deletes_the_last_key_in_scope(previous: str) -> None:
    keys = [key(A, INACTIVE, days=30), key(B, INACTIVE, days=10)]
    after = project(keys, plan(keys, req(state="present", previous=previous), USER, now=NOW).actions, USER)
    assert [k.access_key_id for k in after] == ([A, B] if previous == "deactivate" else [B])


# ---------------------------------------------------------------------------------------------
# the idle guard (previous_keys_idle_hours)
# ---------------------------------------------------------------------------------------------

IDLE_CASES = [
    # (keys, request, last_used, expected actions, retained ids)
    pytest.param(
        [key(A, days=91)], req(previous="delete", idle=24), {A: used(1)}, [CREATE], [A], id="rotation-used-1h-retained"
    ),
    pytest.param(
        [key(A, days=91)],
        req(previous="deactivate", idle=24),
        {A: used(1)},
        [CREATE],
        [A],
        id="rotation-used-1h-retained-deactivate",
    ),
    pytest.param(
        [key(A, days=91)],
        req(previous="delete", idle=24),
        {A: LastUse()},
        [CREATE, Action("delete", A)],
        [],
        id="rotation-never-used-is-idle",
    ),
    pytest.param(
        [key(A, days=91)],
        req(previous="delete", idle=24),
        {},
        [CREATE, Action("delete", A)],
        [],
        id="rotation-no-last-use-known-is-idle",
    ),
    pytest.param(
        [key(A, days=91)],
        req(previous="delete", idle=24),
        {A: used(30)},
        [CREATE, Action("delete", A)],
        [],
        id="rotation-used-30h-ago-retired",
    ),
    pytest.param(
        [key(A, days=91)],
        req(previous="deactivate", idle=24),
        {A: used(24)},
        [CREATE, Action("deactivate", A)],
        [],
        id="rotation-used-exactly-24h-ago-retired",
    ),
    pytest.param(
        [key(A, days=91)],
        req(previous="deactivate", idle=24),
        {A: LastUse(ago(hours=24, seconds=-1), "s3", "eu-west-1")},
        [CREATE],
        [A],
        id="rotation-used-just-under-24h-ago-retained",
    ),
    pytest.param(
        [key(A, days=30), key(B, days=10)],
        req(previous="deactivate", idle=24),
        {A: used(1), B: used(0.5)},
        [],
        [A],
        id="non-rotating-used-1h-retained",
    ),
    pytest.param(
        [key(A, days=30), key(B, days=10)],
        req(previous="deactivate", idle=24),
        {A: used(48), B: used(0.5)},
        [Action("deactivate", A)],
        [],
        id="non-rotating-idle-deactivated-current-use-irrelevant",
    ),
    pytest.param(
        [key(A, INACTIVE, days=30), key(B, days=10)],
        req(previous="deactivate", idle=24),
        {A: used(1)},
        [],
        [],
        id="already-inactive-not-retained-nor-warned",
    ),
    pytest.param(
        [key(A, INACTIVE, days=30), key(B, days=10)],
        req(previous="delete", idle=24),
        {A: used(1)},
        [],
        [A],
        id="inactive-used-recently-retained-from-delete",
    ),
    pytest.param(
        [key(A, days=30), key(B, days=10)],
        req(previous="delete", idle=0),
        {A: used(0.01)},
        [Action("delete", A)],
        [],
        id="idle-0-retires-even-a-key-in-use",
    ),
    pytest.param(
        [key(A, INACTIVE, days=200), key(B, days=91)],
        req(previous="delete", idle=24),
        {A: used(1), B: used(1)},
        [Action("delete", A), CREATE],
        [B],
        id="make-room-delete-is-not-idle-guarded-previous-is",
    ),
]


@pytest.mark.parametrize(("keys", "request_", "last_used", "expected", "retained"), IDLE_CASES)
def test_idle_guard(
    keys: list[AccessKey],
    request_: KeyRequest,
    last_used: dict[str, LastUse],
    expected: list[Action],
    retained: list[str],
) -> None:
    result = plan(keys, request_, USER, now=NOW, last_used=last_used)
    assert result.actions == expected
    assert result.retained == retained
    assert len(result.warnings) == len(retained)
    for key_id, warning in zip(retained, result.warnings):
        assert key_id in warning


def test_idle_guard_warning_names_key_last_use_and_service() -> None:
    keys = [key(A, days=91)]
    result = plan(keys, req(previous="delete", idle=24), USER, now=NOW, last_used={A: used(1, "s3", "eu-west-1")})
    assert result.rotated is True
    assert result.actions == [CREATE]
    assert result.retained == [A]
    (warning,) = result.warnings
    assert A in warning
    assert USER in warning
    assert "2026-06-01T11:00:00+00:00" in warning  # the last-use time
    assert "s3" in warning
    assert "eu-west-1" in warning
    assert "previous_keys_idle_hours=24" in warning
    assert warning == (
        f"kept previous access key {A} of user {USER} (Active): last used 2026-06-01T11:00:00+00:00 "
        "(s3 eu-west-1), less than previous_keys_idle_hours=24 ago"
    )


def test_idle_guard_retained_key_retired_once_idle() -> None:
    """The same keys planned a day later: the retained key is now idle and retired."""
    keys = [key(A, days=91), AccessKey(NEW, USER, ACTIVE, ago(hours=1))]
    request_ = req(previous="delete", idle=24)
    last_use = {A: used(1), NEW: LastUse()}
    first = plan(keys, request_, USER, now=NOW, last_used=last_use)
    assert (first.actions, first.retained) == ([], [A])
    later = plan(keys, request_, USER, now=NOW + datetime.timedelta(hours=25), last_used=last_use)
    assert (later.actions, later.retained, later.warnings) == ([Action("delete", A)], [], [])


# ---------------------------------------------------------------------------------------------
# keys_needing_last_use
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "request_", "expected"),
    [
        pytest.param(
            [key(B, days=1), key(A, days=30)], req(previous="delete", idle=24), [A, B], id="scope-oldest-first"
        ),
        pytest.param([key(A, days=30)], req(previous="deactivate", idle=1), [A], id="deactivate"),
        pytest.param([key(A, days=30), key(B, days=1)], req(previous="delete", idle=0), [], id="idle-0-needs-none"),
        pytest.param([key(A, days=30), key(B, days=1)], req(previous="keep", idle=24), [], id="keep-needs-none"),
        pytest.param([key(A, days=30), key(B, days=1)], req(rotate=None, previous="keep"), [], id="plain-needs-none"),
        pytest.param(
            [key(A, days=30, description="other"), key(B, days=1, description="ci")],
            req(previous="delete", idle=24, description="ci"),
            [B],
            id="description-scope",
        ),
        pytest.param([], req(previous="delete", idle=24), [], id="no-keys"),
        pytest.param(
            [key(A, days=30)],
            key_request({"user_name": USER, "id": A, "state": "inactive"}),
            [],
            id="by-id-needs-none",
        ),
    ],
)
def test_keys_needing_last_use(keys: list[AccessKey], request_: KeyRequest, expected: list[str]) -> None:
    assert keys_needing_last_use(keys, request_) == expected


# ---------------------------------------------------------------------------------------------
# KeyRequest.from_params: the rotation options
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param(
            {"user_name": USER, "rotate_after_days": 1},
            KeyRequest(USER, None, None, "present", rotate_after_days=1),
            id="rotate-1",
        ),
        pytest.param(
            {
                "user_name": USER,
                "state": "active",
                "rotate_after_days": 90,
                "previous_keys": "delete",
                "previous_keys_idle_hours": 24,
            },
            KeyRequest(USER, None, None, "active", 90, "delete", 24),
            id="all-rotation-options",
        ),
        pytest.param(
            # the argument spec rejects null for previous_keys (a choice) and previous_keys_idle_hours (an int)
            {"user_name": USER, "rotate_after_days": None},
            KeyRequest(USER, None, None, "present", None, "keep", 0),
            id="none-means-defaults",
        ),
        pytest.param(
            {"user_name": USER, "previous_keys_idle_hours": 0, "previous_keys": "keep", "id": A},
            KeyRequest(USER, A, None, "present", None, "keep", 0),
            id="defaults-combine-with-id",
        ),
        pytest.param(
            {"user_name": USER, "state": "absent", "previous_keys": "keep"},
            KeyRequest(USER, None, None, "absent"),
            id="keep-with-absent",
        ),
    ],
)
def test_from_params_rotation_options(params: dict, expected: KeyRequest) -> None:
    request_ = key_request(params)
    assert request_ == expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        pytest.param({"rotate_after_days": 0}, "rotate_after_days must be at least 1, got 0", id="rotate-0"),
        pytest.param({"rotate_after_days": -5}, "rotate_after_days must be at least 1, got -5", id="rotate-negative"),
        pytest.param(
            {"previous_keys_idle_hours": -1}, "previous_keys_idle_hours must be 0 or more, got -1", id="idle-negative"
        ),
        pytest.param(
            {"previous_keys": "archive"},
            "value of previous_keys must be one of: keep, deactivate, delete, got: archive",
            id="previous-unknown",
        ),
        pytest.param(
            {"previous_keys": "Delete"},
            "value of previous_keys must be one of: keep, deactivate, delete, got: Delete",
            id="previous-wrong-case",
        ),
        pytest.param(
            {"id": A, "rotate_after_days": 90},
            "rotate_after_days cannot be combined with id: rotation manages a user's keys in scope",
            id="rotate-with-id",
        ),
        pytest.param(
            {"id": A, "previous_keys": "delete"},
            "previous_keys cannot be combined with id: rotation manages a user's keys in scope",
            id="previous-with-id",
        ),
        pytest.param(
            {"id": A, "previous_keys_idle_hours": 24},
            "previous_keys_idle_hours cannot be combined with id: rotation manages a user's keys in scope",
            id="idle-with-id",
        ),
        pytest.param(
            {"id": A, "rotate_after_days": 90, "previous_keys": "deactivate", "previous_keys_idle_hours": 1},
            "rotate_after_days, previous_keys, previous_keys_idle_hours cannot be combined with id: "
            "rotation manages a user's keys in scope",
            id="all-with-id-named",
        ),
        pytest.param(
            {"state": "inactive", "rotate_after_days": 90},
            "rotate_after_days can only be used with state=present or state=active",
            id="rotate-with-inactive",
        ),
        pytest.param(
            {"state": "absent", "rotate_after_days": 90},
            "rotate_after_days can only be used with state=present or state=active",
            id="rotate-with-absent",
        ),
        pytest.param(
            {"state": "absent", "previous_keys": "delete"},
            "previous_keys can only be used with state=present or state=active",
            id="previous-with-absent",
        ),
        pytest.param(
            {"state": "inactive", "previous_keys_idle_hours": 3},
            "previous_keys_idle_hours can only be used with state=present or state=active",
            id="idle-with-inactive",
        ),
    ],
)
def test_from_params_rejects_rotation_options(params: dict, message: str) -> None:
    with pytest.raises(AwsError) as excinfo:
        key_request({"user_name": USER, **params})
    assert str(excinfo.value) == message


@pytest.mark.parametrize(
    ("created", "now", "days"),
    [
        # IAM's clock comes from a Date header, in whole seconds; a create date may carry fractions (moto's do).
        pytest.param("2026-06-01T12:00:00.444", "2026-06-04T12:00:00", 3, id="fraction-dropped-at-the-boundary"),
        pytest.param("2026-06-01T12:00:00.999", "2026-06-04T11:59:59", 2, id="one-second-short"),
        pytest.param("2026-06-01T12:00:00", "2026-06-04T12:00:00.999", 3, id="fractions-of-now-too"),
        pytest.param("2026-06-05T00:00:00", "2026-06-04T12:00:00", 0, id="future-create-date-clock-skew"),
    ],
)
def test_whole_days_to_the_second(created: str, now: str, days: int) -> None:
    parse = datetime.datetime.fromisoformat
    assert whole_days(parse(created).replace(tzinfo=UTC), parse(now).replace(tzinfo=UTC)) == days
