# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import dataclasses
import datetime
import email.utils
import http.server
import json
import re
import threading
import time
import urllib.request
from typing import Any

import pytest

# Rotation (issue 3) end to end: real ansible-playbook runs of keyguard.aws.iam_access_key through the recording
# proxy against the moto server on its shiftable clock. IAM is read back with boto3 (straight to moto) after every
# task; check-mode runs must predict the real run and make no write call.

USER = "deploy"
MODULE = "keyguard.aws.iam_access_key"
TASK = "keys"
WRITE_ACTIONS = frozenset({"CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey", "TagUser", "UntagUser"})
UTC = datetime.timezone.utc
DAY = datetime.timedelta(days=1)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def iam_keys(iam, user: str = USER) -> dict[str, str]:
    """The user's keys as IAM has them: {access key id: status}."""
    return {item["AccessKeyId"]: item["Status"] for item in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}


def iam_tags(iam, user: str = USER) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in iam.list_user_tags(UserName=user)["Tags"]}


def moto_secret(moto, access_key_id: str) -> str | None:
    """The secret moto holds for a key (moto's own state dump): a returned secret must be this one.

    The dump lists every key moto made, deleted ones included: use ListAccessKeys to tell which exist.
    """
    with urllib.request.urlopen(moto.url + "/moto-api/data.json", timeout=30) as response:
        data = json.loads(response.read())
    secrets = [item["secret_access_key"] for item in data["iam"]["AccessKey"] if item["access_key_id"] == access_key_id]
    return secrets[0] if secrets else None


def assert_valid_secret(moto, iam_client_factory, iam, access_key_id: str, secret: str) -> None:
    """The secret is the key's: moto holds exactly it, and an IAM call signed with the pair succeeds."""
    assert isinstance(secret, str) and len(secret) == 40
    assert moto_secret(moto, access_key_id) == secret
    as_key = iam_client_factory(moto.url, access_key_id, secret)
    assert as_key.get_user(UserName=USER)["User"]["UserName"] == USER
    last_used = iam.get_access_key_last_used(AccessKeyId=access_key_id)["AccessKeyLastUsed"]
    assert "LastUsedDate" in last_used  # IAM saw the key in use


def create_key(iam, description: str | None = None, status: str = "Active") -> str:
    key_id = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    if status != "Active":
        iam.update_access_key(UserName=USER, AccessKeyId=key_id, Status=status)
    if description is not None:
        iam.tag_user(UserName=USER, Tags=[{"Key": key_id, "Value": description}])
    return key_id


def use_key(moto, iam_client_factory, iam, access_key_id: str) -> datetime.datetime:
    """Sign an IAM call with the key (moto records its last use); return that last use (UTC)."""
    secret = moto_secret(moto, access_key_id)
    iam_client_factory(moto.url, access_key_id, secret).list_users()
    used = iam.get_access_key_last_used(AccessKeyId=access_key_id)["AccessKeyLastUsed"]
    assert used["ServiceName"] == "iam"
    return used["LastUsedDate"].astimezone(UTC)


def writes(proxy) -> list[str]:
    return [action for action in proxy.actions() if action in WRITE_ACTIONS]


def run_task(run_playbook, params: dict[str, Any], check: bool = False):
    """Run the module once as task TASK; return (PlaybookResult, module result)."""
    result = run_playbook([{"name": TASK, MODULE: {"user_name": USER, **params}}], check=check)
    return result, result.task(TASK)


def pairs(actions: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(action["action"], action["access_key_id"]) for action in actions]


def check_then_apply(run_playbook, proxy, iam, params: dict[str, Any]):
    """Check mode (no write, IAM unchanged), then the real run; the prediction must match what was done.

    Returns (check-mode module result, real module result, the user's keys before: {id: status}).
    """
    before = iam_keys(iam)
    tags_before = iam_tags(iam)
    proxy.reset_calls()
    checked, predicted = run_task(run_playbook, params, check=True)
    assert checked.rc == 0, checked.summary()
    assert writes(proxy) == []
    assert iam_keys(iam) == before
    assert iam_tags(iam) == tags_before

    proxy.reset_calls()
    applied, done = run_task(run_playbook, params)
    assert applied.rc == 0, applied.summary()
    assert done["changed"] is predicted["changed"]
    assert done["rotated"] is predicted["rotated"]
    assert done["retained_access_key_ids"] == predicted["retained_access_key_ids"]
    assert done.get("warnings", []) == predicted.get("warnings", [])
    created = next((key_id for name, key_id in pairs(done["actions"]) if name == "create"), None)
    assert pairs(done["actions"]) == [(name, key_id or created) for name, key_id in pairs(predicted["actions"])]
    assert "secret_access_key" not in predicted
    assert ("secret_access_key" in done) is (created is not None)
    return predicted, done, before


def new_key_of(done: dict[str, Any], before: dict[str, str]) -> str:
    created = [key_id for name, key_id in pairs(done["actions"]) if name == "create"]
    assert len(created) == 1, done["actions"]
    assert created[0] not in before
    assert done["access_key"]["access_key_id"] == created[0]
    return created[0]


@pytest.fixture
def user(iam) -> str:
    iam.create_user(UserName=USER)
    return USER


# ---------------------------------------------------------------------------------------------
# rotate_after_days
# ---------------------------------------------------------------------------------------------


def test_key_younger_than_rotate_after_days_is_left_alone(user, moto, iam, proxy, run_playbook):
    key_id = create_key(iam)
    moto.advance(days=89)
    params = {"state": "active", "rotate_after_days": 90, "previous_keys": "delete"}
    for check in (True, False):
        proxy.reset_calls()
        result, task = run_task(run_playbook, params, check=check)
        assert result.rc == 0, result.summary()
        assert task["changed"] is False
        assert task["rotated"] is False
        assert task["actions"] == []
        assert task["retained_access_key_ids"] == []
        assert "secret_access_key" not in task
        assert task["access_key"]["access_key_id"] == key_id
        assert writes(proxy) == []
        assert "ListAccessKeys" in proxy.actions()
        assert iam_keys(iam) == {key_id: "Active"}


@pytest.mark.parametrize(
    ("previous_keys", "old_key_after"),
    [("keep", "Active"), ("deactivate", "Inactive"), ("delete", None)],
)
def test_older_key_is_rotated(user, moto, iam, proxy, run_playbook, iam_client_factory, previous_keys, old_key_after):
    old = create_key(iam, description="deploy key")
    moto.advance(days=91)
    params = {"state": "active", "description": "deploy key", "rotate_after_days": 90, "previous_keys": previous_keys}

    predicted, done, before = check_then_apply(run_playbook, proxy, iam, params)
    retire = {"keep": [], "deactivate": [("deactivate", old)], "delete": [("delete", old)]}[previous_keys]
    assert pairs(predicted["actions"]) == [("create", None), ("describe", None), *retire]
    assert predicted["changed"] is True and predicted["rotated"] is True
    assert predicted["access_key"]["access_key_id"] is None

    new = new_key_of(done, before)
    assert pairs(done["actions"]) == [("create", new), ("describe", new), *retire]
    assert done["rotated"] is True
    assert done["access_key"]["status"] == "Active"
    assert done["access_key"]["description"] == "deploy key"
    created = datetime.datetime.fromisoformat(done["access_key"]["create_date"])
    assert abs(created - moto.now()) < datetime.timedelta(minutes=5)  # made now, by IAM's (shifted) clock
    expected = {new: "Active"} if old_key_after is None else {old: old_key_after, new: "Active"}
    assert iam_keys(iam) == expected
    assert iam_tags(iam) == {key_id: "deploy key" for key_id in expected}
    assert_valid_secret(moto, iam_client_factory, iam, new, done["secret_access_key"])
    # the write calls, in order: the new key exists before the old one is retired
    write_order = {"keep": [], "deactivate": ["UpdateAccessKey"], "delete": ["DeleteAccessKey", "UntagUser"]}
    assert writes(proxy) == ["CreateAccessKey", "TagUser", *write_order[previous_keys]]

    # re-run: converged
    proxy.reset_calls()
    again_run, again = run_task(run_playbook, params)
    assert again_run.rc == 0, again_run.summary()
    assert (again["changed"], again["rotated"], again["actions"]) == (False, False, [])
    assert again["access_key"]["access_key_id"] == new
    assert "secret_access_key" not in again
    assert writes(proxy) == []
    assert iam_keys(iam) == expected


def test_rotation_at_the_limit_deletes_the_inactive_key_first(user, moto, iam, proxy, run_playbook, iam_client_factory):
    retired = create_key(iam, status="Inactive")
    current = create_key(iam)
    moto.advance(days=91)
    params = {"state": "active", "rotate_after_days": 90, "previous_keys": "deactivate"}

    predicted, done, before = check_then_apply(run_playbook, proxy, iam, params)
    assert pairs(predicted["actions"]) == [("delete", retired), ("create", None), ("deactivate", current)]
    assert predicted["rotated"] is True
    new = new_key_of(done, before)
    assert pairs(done["actions"]) == [("delete", retired), ("create", new), ("deactivate", current)]
    assert writes(proxy) == ["DeleteAccessKey", "CreateAccessKey", "UpdateAccessKey"]
    assert iam_keys(iam) == {current: "Inactive", new: "Active"}
    assert_valid_secret(moto, iam_client_factory, iam, new, done["secret_access_key"])


def test_rotation_at_the_limit_with_two_active_keys_fails_before_any_change(
    user, moto, iam, proxy, run_playbook, iam_client_factory
):
    older = create_key(iam)
    newer = create_key(iam)
    moto.advance(days=91)
    # Both in use: the older one is a previous key that the idle guard keeps, so it cannot make room either.
    older_used = use_key(moto, iam_client_factory, iam, older)
    newer_used = use_key(moto, iam_client_factory, iam, newer)
    params = {"state": "active", "rotate_after_days": 90, "previous_keys": "delete", "previous_keys_idle_hours": 24}

    messages = []
    for check in (True, False):
        proxy.reset_calls()
        result, task = run_task(run_playbook, params, check=check)
        assert result.rc == 2, result.summary()
        assert task["failed"] is True
        assert writes(proxy) == []
        assert iam_keys(iam) == {older: "Active", newer: "Active"}
        assert "secret_access_key" not in task
        messages.append(task["msg"])
    check_message, message = messages
    assert check_message == message  # check mode predicts the same failure
    assert message == (
        f"cannot create an access key for user {USER}: it already has 2 keys, the most IAM allows "
        f"({older} (Active, last used {older_used.isoformat()} (iam us-east-1)), "
        f"{newer} (Active, last used {newer_used.isoformat()} (iam us-east-1))); "
        "delete one or pass its id"
    )


# ---------------------------------------------------------------------------------------------
# previous_keys on runs that do not rotate
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("previous_keys", ["deactivate", "delete"])
def test_previous_keys_are_retired_without_rotation(user, moto, iam, proxy, run_playbook, previous_keys):
    older = create_key(iam, description="ci")
    moto.advance(days=10)
    current = create_key(iam, description="ci")
    moto.advance(days=1)
    params = {"state": "present", "description": "ci", "rotate_after_days": 90, "previous_keys": previous_keys}

    predicted, done, before = check_then_apply(run_playbook, proxy, iam, params)
    assert before == {older: "Active", current: "Active"}
    assert pairs(predicted["actions"]) == [(previous_keys, older)]
    assert pairs(done["actions"]) == [(previous_keys, older)]
    assert done["rotated"] is False
    assert "secret_access_key" not in done
    assert done["access_key"]["access_key_id"] == current
    if previous_keys == "deactivate":
        assert writes(proxy) == ["UpdateAccessKey"]
        assert iam_keys(iam) == {older: "Inactive", current: "Active"}
        assert iam_tags(iam) == {older: "ci", current: "ci"}
    else:
        assert writes(proxy) == ["DeleteAccessKey", "UntagUser"]
        assert iam_keys(iam) == {current: "Active"}
        assert iam_tags(iam) == {current: "ci"}

    proxy.reset_calls()
    again_run, again = run_task(run_playbook, params)
    assert again_run.rc == 0, again_run.summary()
    assert (again["changed"], again["actions"]) == (False, [])
    assert writes(proxy) == []


def test_previous_keys_leave_keys_outside_the_description_scope_alone(user, moto, iam, proxy, run_playbook):
    other = create_key(iam)  # no description: outside the scope of description=ci
    moto.advance(days=200)
    scoped = create_key(iam, description="ci")
    params = {"state": "active", "description": "ci", "rotate_after_days": 90, "previous_keys": "delete"}
    proxy.reset_calls()
    result, task = run_task(run_playbook, params)
    assert result.rc == 0, result.summary()
    assert (task["changed"], task["actions"]) == (False, [])
    assert writes(proxy) == []
    assert iam_keys(iam) == {other: "Active", scoped: "Active"}


# ---------------------------------------------------------------------------------------------
# the idle guard
# ---------------------------------------------------------------------------------------------


def test_idle_guard_keeps_a_recently_used_key_until_it_is_idle(
    user, moto, iam, proxy, run_playbook, iam_client_factory
):
    old = create_key(iam)
    moto.advance(days=91)
    last_used = use_key(moto, iam_client_factory, iam, old)
    params = {"state": "active", "rotate_after_days": 90, "previous_keys": "delete", "previous_keys_idle_hours": 24}

    # rotation day: the new key is made, the old one is still in use and kept
    predicted, done, before = check_then_apply(run_playbook, proxy, iam, params)
    assert pairs(predicted["actions"]) == [("create", None)]
    assert predicted["retained_access_key_ids"] == [old]
    new = new_key_of(done, before)
    assert pairs(done["actions"]) == [("create", new)]
    assert done["rotated"] is True
    assert done["retained_access_key_ids"] == [old]
    (warning,) = done["warnings"]
    assert old in warning
    assert last_used.isoformat() in warning
    assert "(iam us-east-1)" in warning
    assert "previous_keys_idle_hours=24" in warning
    assert iam_keys(iam) == {old: "Active", new: "Active"}
    assert_valid_secret(moto, iam_client_factory, iam, new, done["secret_access_key"])

    # later the same day: still in use, still kept, nothing to change
    moto.advance(hours=12)
    proxy.reset_calls()
    same_day_run, same_day = run_task(run_playbook, params)
    assert same_day_run.rc == 0, same_day_run.summary()
    assert (same_day["changed"], same_day["actions"], same_day["retained_access_key_ids"]) == (False, [], [old])
    assert len(same_day["warnings"]) == 1 and old in same_day["warnings"][0]
    assert writes(proxy) == []
    assert iam_keys(iam) == {old: "Active", new: "Active"}

    # past the idle hours since its last use: a rerun retires it
    moto.advance(hours=13)
    predicted, done, before = check_then_apply(run_playbook, proxy, iam, params)
    assert pairs(predicted["actions"]) == [("delete", old)]
    assert pairs(done["actions"]) == [("delete", old)]
    assert done["retained_access_key_ids"] == []
    assert "warnings" not in done
    assert done["rotated"] is False
    assert writes(proxy) == ["DeleteAccessKey"]
    assert iam_keys(iam) == {new: "Active"}


# ---------------------------------------------------------------------------------------------
# a daily schedule
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class DayRecord:
    day: int
    keys: list[dict[str, Any]]  # boto3 ListAccessKeys after that day's run
    iam_now: datetime.datetime  # IAM's clock (Date header) at that check
    calls: list[Any]  # proxy calls made by that day's run


class Checkpoint:
    """Called from inside the playbook after each day's task (``lookup('url', .../day/N)``).

    Reads IAM with boto3 (straight to moto), records it with the proxy calls of that day's run, then moves moto's clock
    forward to the next day of ``schedule`` (one day after the last). A repeated request for the same day is answered
    from the record (the clock moves once).
    """

    def __init__(self, iam, moto, proxy, schedule: list[int], after_advance=None):
        self.iam = iam
        self.moto = moto
        self.proxy = proxy
        self.schedule = schedule
        self.after_advance = after_advance  # called with the day's record once the clock has moved on
        self.records: dict[int, DayRecord] = {}
        self.seen_calls = 0
        self.errors: list[str] = []
        self._lock = threading.Lock()
        checkpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # pylint: disable=redefined-builtin
                pass

            def do_GET(self):
                match = re.fullmatch(r"/day/(\d+)", self.path)
                try:
                    if match is None:
                        raise ValueError(f"unexpected path {self.path}")
                    body = checkpoint.record(int(match.group(1))).encode("utf-8")
                    status = 200
                except Exception as exc:  # reported to the test, and fails the playbook task
                    checkpoint.errors.append(repr(exc))
                    body, status = repr(exc).encode("utf-8"), 500
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def record(self, day: int) -> str:
        with self._lock:
            if day not in self.records:
                response = self.iam.list_access_keys(UserName=USER)
                iam_now = email.utils.parsedate_to_datetime(response["ResponseMetadata"]["HTTPHeaders"]["date"])
                calls = self.proxy.calls
                self.records[day] = DayRecord(
                    day=day,
                    keys=[
                        {"id": item["AccessKeyId"], "status": item["Status"], "create_date": item["CreateDate"]}
                        for item in response["AccessKeyMetadata"]
                    ],
                    iam_now=iam_now.astimezone(UTC),
                    calls=calls[self.seen_calls :],
                )
                self.seen_calls = len(calls)
                later = [next_day for next_day in self.schedule if next_day > day]
                self.moto.advance(days=(later[0] if later else day + 1) - day)
                if self.after_advance is not None:
                    self.after_advance(self.records[day])
            record = self.records[day]
        return json.dumps({"day": day, "keys": {key["id"]: key["status"] for key in record.keys}})

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


# The 100-day schedule runs on the days where something happens or is about to (the first days, the days around the
# rotation, the last days) and one day in between; moto's clock jumps across the other quiet days. Skipping a quiet
# day's run changes nothing for the runs after it: the module keeps no state between runs, and every quiet day that
# does run is asserted to make no write call and leave IAM as it was.
ROTATE_AFTER_90_DAYS = [0, 1, 2, 45, 88, 89, 90, 91, 92, 99, 100]


@pytest.mark.parametrize(
    ("schedule", "rotate_after_days", "rotation_days"),
    [
        pytest.param(ROTATE_AFTER_90_DAYS, 90, [90], id="100-days-rotate-after-90"),
        pytest.param(list(range(15)), 3, [3, 6, 9, 12], id="14-days-rotate-after-3-repeated-rotations"),
    ],
)
def test_daily_schedule_converges(user, moto, iam, proxy, run_playbook, schedule, rotate_after_days, rotation_days):
    """One module run per scheduled day, moto's clock moved to the next one each time, IAM checked with boto3 after
    each run.

    100 separate ansible-playbook processes cost ~2 s each (over 3 minutes), almost all of it the controller starting.
    So the days are tasks of one playbook: each day's iam_access_key task is a separate module execution (a fresh
    process reading IAM; nothing is carried between tasks), and after each one a controller-side url lookup calls back
    into this test, which reads IAM with boto3 and only then moves moto's clock on to the next scheduled day.
    """
    params = {
        "user_name": USER,
        "state": "active",
        "rotate_after_days": rotate_after_days,
        "previous_keys": "deactivate",
    }
    with Checkpoint(iam, moto, proxy, schedule) as checkpoint:
        proxy.reset_calls()
        started = time.monotonic()
        result = run_playbook(day_tasks(params, checkpoint, schedule))
        elapsed = time.monotonic() - started
    assert checkpoint.errors == []
    assert result.rc == 0, result.summary()
    assert sorted(checkpoint.records) == schedule
    print(f"{len(schedule)} of {schedule[-1] + 1} simulated days in {elapsed:.1f} s")

    active_before = None
    statuses_before: dict[str, str] = {}
    for day in schedule:
        task = result.task(f"day {day}")
        record = checkpoint.records[day]
        statuses = {key["id"]: key["status"] for key in record.keys}
        active = [key for key in record.keys if key["status"] == "Active"]
        inactive = [key for key in record.keys if key["status"] == "Inactive"]
        day_writes = [call.action for call in record.calls if call.action in WRITE_ACTIONS]
        context = f"day {day}: {task.get('actions')} -> {statuses}"

        # exactly one Active key, no older than rotate_after_days by IAM's clock, at most one Inactive predecessor
        assert len(active) == 1, context
        assert len(inactive) <= 1, context
        assert record.iam_now - active[0]["create_date"] < rotate_after_days * DAY, context
        assert task["access_key"]["access_key_id"] == active[0]["id"], context

        if day == 0:
            assert task["changed"] is True and task["rotated"] is False, context
            assert pairs(task["actions"]) == [("create", active[0]["id"])], context
            assert day_writes == ["CreateAccessKey"], context
            assert statuses == {active[0]["id"]: "Active"}, context
            assert "secret_access_key" in task, context
        elif day in rotation_days:
            new = active[0]["id"]
            assert task["changed"] is True and task["rotated"] is True, context
            assert new not in statuses_before, context
            assert "secret_access_key" in task, context
            expected = [("create", new), ("deactivate", active_before)]
            expected_writes = ["CreateAccessKey", "UpdateAccessKey"]
            dropped = [key_id for key_id, status in statuses_before.items() if status == "Inactive"]
            if day == rotation_days[0]:
                assert dropped == [], context
            else:  # the Inactive predecessor from the rotation before makes room, first
                assert len(dropped) == 1, context
                expected.insert(0, ("delete", dropped[0]))
                expected_writes.insert(0, "DeleteAccessKey")
            assert pairs(task["actions"]) == expected, context
            assert day_writes == expected_writes, context
            assert statuses == {active_before: "Inactive", new: "Active"}, context
        else:
            assert task["changed"] is False and task["rotated"] is False and task["actions"] == [], context
            assert "secret_access_key" not in task, context
            assert day_writes == [], context
            assert statuses == statuses_before, context
        assert task.get("warnings", []) == [], context
        active_before = active[0]["id"]
        statuses_before = statuses

    assert iam_keys(iam) == statuses_before
    rotations = [day for day in schedule if result.task(f"day {day}")["rotated"]]
    assert rotations == rotation_days


def day_tasks(params: dict[str, Any], checkpoint: Checkpoint, schedule: list[int]) -> list[dict[str, Any]]:
    """One iam_access_key task a scheduled day, each followed by the checkpoint lookup that records IAM and moves the
    clock."""
    tasks = []
    for day in schedule:
        tasks.append({"name": f"day {day}", MODULE: params})
        tasks.append(
            {
                "name": f"check day {day}",
                "ansible.builtin.debug": {
                    "msg": f"{{{{ lookup('ansible.builtin.url', '{checkpoint.url}/day/{day}', "
                    "split_lines=false, use_proxy=false) }}",
                },
            }
        )
    return tasks


@pytest.mark.parametrize("previous_keys", ["delete", "deactivate"])
def test_daily_rotation_with_the_idle_guard_converges_at_the_two_key_limit(
    user, moto, iam, proxy, run_playbook, iam_client_factory, previous_keys
):
    """The README's daily schedule: rotate every day, retire a previous key once idle for 24 h.

    The application switches to the newest key at the start of each day (it uses it just before the day's run), so on
    day d the key created on day d-1 is in use and kept, and the one before it has been idle for a day: it is retired
    first, to make room, and the new key is created. The task never fails at the limit and never touches a key in use.
    """
    params = {
        "user_name": USER,
        "state": "active",
        "rotate_after_days": 1,
        "previous_keys": previous_keys,
        "previous_keys_idle_hours": 24,
    }
    used_by_app: dict[int, str] = {}

    def app_switches_to_the_newest_key(record: DayRecord) -> None:
        newest = max(record.keys, key=lambda key: key["create_date"])
        use_key(moto, iam_client_factory, iam, newest["id"])
        used_by_app[record.day + 1] = newest["id"]

    days = 5
    schedule = list(range(days + 1))
    with Checkpoint(iam, moto, proxy, schedule, after_advance=app_switches_to_the_newest_key) as checkpoint:
        proxy.reset_calls()
        result = run_playbook(day_tasks(params, checkpoint, schedule))
    assert checkpoint.errors == []
    assert result.rc == 0, result.summary()

    created: list[str] = []
    for day in range(days + 1):
        task = result.task(f"day {day}")
        record = checkpoint.records[day]
        statuses = {key["id"]: key["status"] for key in record.keys}
        day_writes = [call.action for call in record.calls if call.action in WRITE_ACTIONS]
        context = f"day {day}: {task.get('actions')} -> {statuses}"
        assert task["changed"] is True, context
        new = next(key_id for name, key_id in pairs(task["actions"]) if name == "create")
        assert "secret_access_key" in task, context
        assert task["rotated"] is (day > 0), context
        if day == 0:
            assert pairs(task["actions"]) == [("create", new)], context
            assert day_writes == ["CreateAccessKey"], context
            assert statuses == {new: "Active"}, context
        elif day == 1:  # yesterday's key is in use: kept, beside the new one
            assert pairs(task["actions"]) == [("create", new)], context
            assert task["retained_access_key_ids"] == [created[0]] == [used_by_app[day]], context
            assert statuses == {created[0]: "Active", new: "Active"}, context
        else:  # the key before yesterday's has been idle for a day: it makes room, then the new key is created
            idle, in_use = created[-2], created[-1]
            assert in_use == used_by_app[day], context
            assert pairs(task["actions"]) == [("delete", idle), ("create", new)], context
            assert day_writes == ["DeleteAccessKey", "CreateAccessKey"], context
            assert task["retained_access_key_ids"] == [in_use], context
            assert statuses == {in_use: "Active", new: "Active"}, context
        assert task["access_key"]["access_key_id"] == new, context
        created.append(new)
    assert iam_keys(iam) == {created[-2]: "Active", created[-1]: "Active"}


# ---------------------------------------------------------------------------------------------
# CreateAccessKey failures: no orphaned keys, no lost secrets
# ---------------------------------------------------------------------------------------------


def test_lost_create_response_leaves_no_orphan(user, moto, iam, proxy, run_playbook, iam_client_factory):
    old = create_key(iam, description="app")
    moto.advance(days=91)
    params = {"state": "active", "description": "app", "rotate_after_days": 90, "previous_keys": "deactivate"}
    proxy.reset_calls()
    rule = proxy.add_fault("lost", action="CreateAccessKey", times=1)
    result, task = run_task(run_playbook, params)
    assert result.rc == 0, result.summary()
    assert rule.fired == 1

    creates = [call for call in proxy.calls if call.action == "CreateAccessKey"]
    assert [(call.fault, call.forwarded, call.upstream_status) for call in creates] == [
        ("lost", True, 200),  # moto made a key; its secret never reached the module
        (None, True, 200),
    ]
    deletes = [call.params["AccessKeyId"] for call in proxy.calls if call.action == "DeleteAccessKey"]
    assert len(deletes) == 1
    orphan = deletes[0]
    new = task["access_key"]["access_key_id"]
    assert orphan not in (old, new)
    assert pairs(task["actions"]) == [("delete", orphan), ("create", new), ("describe", new), ("deactivate", old)]
    assert task["changed"] is True and task["rotated"] is True
    (warning,) = task["warnings"]
    assert orphan in warning and "lost" in warning
    # exactly one new key, with the secret the task returned; the orphan is gone; the old key retired after
    assert iam_keys(iam) == {old: "Inactive", new: "Active"}
    assert iam_tags(iam) == {old: "app", new: "app"}
    assert_valid_secret(moto, iam_client_factory, iam, new, task["secret_access_key"])
    # the orphan was deleted before the create was tried again
    sequence = [call.action for call in proxy.calls if call.action in WRITE_ACTIONS]
    assert sequence == ["CreateAccessKey", "DeleteAccessKey", "CreateAccessKey", "TagUser", "UpdateAccessKey"]


def test_every_create_response_lost_fails_and_leaves_nothing_behind(user, moto, iam, proxy, run_playbook):
    old = create_key(iam)
    moto.advance(days=91)
    params = {"state": "active", "rotate_after_days": 90, "previous_keys": "delete"}
    proxy.reset_calls()
    proxy.add_fault("lost", action="CreateAccessKey")
    result, task = run_task(run_playbook, params)
    assert result.rc == 2, result.summary()
    assert task["failed"] is True
    assert "CreateAccessKey" in task["msg"]
    assert "gave up after 3 attempts, leaving no key without a known secret" in task["msg"]
    assert "secret_access_key" not in task

    creates = [call for call in proxy.calls if call.action == "CreateAccessKey"]
    assert len(creates) == 3 and all(call.fault == "lost" and call.forwarded for call in creates)
    orphans = [call.params["AccessKeyId"] for call in proxy.calls if call.action == "DeleteAccessKey"]
    assert len(orphans) == 3 and old not in orphans
    assert pairs(task["actions"]) == [("delete", orphan) for orphan in orphans]
    assert len(task["warnings"]) == 3
    # the working key is still there and still Active: nothing was retired without a replacement
    assert iam_keys(iam) == {old: "Active"}
    assert "UpdateAccessKey" not in proxy.actions()


def test_throttled_create_is_retried_by_botocore(user, moto, iam, proxy, run_playbook, iam_client_factory):
    old = create_key(iam)
    moto.advance(days=91)
    params = {"state": "active", "rotate_after_days": 90, "previous_keys": "deactivate"}
    proxy.reset_calls()
    rule = proxy.add_fault("throttle", action="CreateAccessKey", times=2)
    result, task = run_task(run_playbook, params)
    assert result.rc == 0, result.summary()
    assert rule.fired == 2
    creates = [call for call in proxy.calls if call.action == "CreateAccessKey"]
    assert [(call.error_code, call.forwarded) for call in creates] == [
        ("Throttling", False),
        ("Throttling", False),
        (None, True),
    ]
    new = task["access_key"]["access_key_id"]
    assert pairs(task["actions"]) == [("create", new), ("deactivate", old)]
    assert "warnings" not in task
    assert "DeleteAccessKey" not in proxy.actions()
    assert iam_keys(iam) == {old: "Inactive", new: "Active"}
    assert_valid_secret(moto, iam_client_factory, iam, new, task["secret_access_key"])


def test_secret_reaches_the_user_when_a_later_step_fails(user, moto, iam, proxy, run_playbook, iam_client_factory):
    old = create_key(iam)
    moto.advance(days=91)
    params = {"state": "active", "rotate_after_days": 90, "previous_keys": "deactivate"}
    proxy.reset_calls()
    proxy.add_fault("service_failure", action="UpdateAccessKey")
    result, task = run_task(run_playbook, params)
    assert result.rc == 2, result.summary()
    assert task["failed"] is True
    assert "UpdateAccessKey" in task["msg"]
    new = task["access_key"]["access_key_id"]
    assert new != old
    assert pairs(task["actions"]) == [("create", new)]
    # the deactivation failed, so both keys are Active; the new key's secret was still handed back
    assert iam_keys(iam) == {old: "Active", new: "Active"}
    assert_valid_secret(moto, iam_client_factory, iam, new, task["secret_access_key"])
    assert proxy.count("CreateAccessKey") == 1

    # once IAM recovers, the next run finishes the job without another key
    proxy.clear_faults()
    proxy.reset_calls()
    again_run, again = run_task(run_playbook, params)
    assert again_run.rc == 0, again_run.summary()
    assert pairs(again["actions"]) == [("deactivate", old)]
    assert again["rotated"] is False
    assert "CreateAccessKey" not in proxy.actions()
    assert iam_keys(iam) == {old: "Inactive", new: "Active"}
