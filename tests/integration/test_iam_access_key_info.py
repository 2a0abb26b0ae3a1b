# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import concurrent.futures
import datetime
import math
import threading
from typing import Any

import boto3
import botocore.exceptions
import pytest

# keyguard.aws.iam_access_key_info through the real ansible-playbook, against the moto server behind the recording
# proxy. Expected values are always read from IAM with boto3 (straight to moto), never from the module's own output.

UTC = datetime.timezone.utc
INFO = "keyguard.aws.iam_access_key_info"
UNKNOWN_ID = "AKIAXXXXXXXXXXXXXXX9"
LAST_USE_FIELDS = ("last_used_date", "last_used_service", "last_used_region", "days_since_last_used")
READ_ACTIONS = frozenset(
    {
        "GetAccountAuthorizationDetails",
        "ListAccessKeys",
        "ListUserTags",
        "GetAccessKeyLastUsed",
        "GenerateCredentialReport",
        "GetCredentialReport",
    }
)
# Run the module as a module (a new process with AnsibleModule) instead of in-process on the controller.
AS_MODULE = {"keyguard_aws_in_process": False}


def info(name: str, task_vars: dict[str, Any] | None = None, **options: Any) -> dict[str, Any]:
    task: dict[str, Any] = {"name": name, INFO: options}
    if task_vars:
        task["vars"] = task_vars
    return task


def failing(name: str, task_vars: dict[str, Any] | None = None, **options: Any) -> dict[str, Any]:
    return {**info(name, task_vars, **options), "ignore_errors": True}


@pytest.fixture
def use_key(moto):
    """``use_key(created)`` makes an IAM call signed with that key, so moto records its last use (service iam)."""
    session = boto3.session.Session(region_name="us-east-1")
    lock = threading.Lock()  # a boto3 session is not thread-safe; the clients it makes are

    def sign_with(created: dict[str, Any]) -> None:
        with lock:
            client = session.client(
                "iam",
                endpoint_url=moto.url,
                aws_access_key_id=created["AccessKeyId"],
                aws_secret_access_key=created["SecretAccessKey"],
            )
        client.list_account_aliases()

    return sign_with


def _days(since: datetime.datetime, now: datetime.datetime) -> int:
    return int((now - since).total_seconds() // 86400)


def _user_entries(iam, user_name: str, now: datetime.datetime) -> list[dict[str, Any]]:
    tags = {tag["Key"]: tag["Value"] for tag in iam.list_user_tags(UserName=user_name)["Tags"]}
    metadata = iam.list_access_keys(UserName=user_name)["AccessKeyMetadata"]
    entries = []
    for item in sorted(metadata, key=lambda item: (item["CreateDate"], item["AccessKeyId"])):
        used = iam.get_access_key_last_used(AccessKeyId=item["AccessKeyId"])
        assert used["UserName"] == user_name
        last = used["AccessKeyLastUsed"]
        date = last.get("LastUsedDate")
        entries.append(
            {
                "access_key_id": item["AccessKeyId"],
                "user_name": user_name,
                "status": item["Status"],
                "create_date": item["CreateDate"].astimezone(UTC).isoformat(),
                "description": tags.get(item["AccessKeyId"]),
                "age_days": _days(item["CreateDate"], now),
                "last_used_date": date.astimezone(UTC).isoformat() if date is not None else None,
                "last_used_service": last.get("ServiceName") if date is not None else None,
                "last_used_region": last.get("Region") if date is not None else None,
                "days_since_last_used": _days(date, now) if date is not None else None,
            }
        )
    return entries


def iam_report(iam, now: datetime.datetime, path_prefix: str = "/") -> list[dict[str, Any]]:
    """Every key of the account (under ``path_prefix``) as the module reports it with exact_last_used=true,
    read with boto3: ListUsers, ListAccessKeys, ListUserTags and GetAccessKeyLastUsed."""
    names = sorted(
        user["UserName"]
        for page in iam.get_paginator("list_users").paginate(PathPrefix=path_prefix)
        for user in page["Users"]
    )
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        per_user = list(pool.map(lambda name: _user_entries(iam, name, now), names))
    return [entry for entries in per_user for entry in entries]


def from_credential_report(exact: list[dict[str, Any]], now: datetime.datetime) -> list[dict[str, Any]]:
    """``exact`` as a report from the credential report gives it: last use to the second, and no service or
    region, which moto's credential report does not have ("not_supported")."""
    entries = []
    for entry in exact:
        date = entry["last_used_date"] and datetime.datetime.fromisoformat(entry["last_used_date"])
        entries.append(
            {
                **entry,
                "last_used_date": date.replace(microsecond=0).isoformat() if date else None,
                "last_used_service": None,
                "last_used_region": None,
                "days_since_last_used": _days(date.replace(microsecond=0), now) if date else None,
            }
        )
    return entries


def without_last_use(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{name: value for name, value in entry.items() if name not in LAST_USE_FIELDS} for entry in entries]


def ids(result: dict[str, Any]) -> list[str]:
    return [entry["access_key_id"] for entry in result["access_keys"]]


def account_keys(iam) -> dict[str, list[tuple[str, str]]]:
    """user name -> [(key id, status)]: to show a run changed nothing."""
    state = {}
    for page in iam.get_paginator("list_users").paginate():
        for user in page["Users"]:
            keys = iam.list_access_keys(UserName=user["UserName"])["AccessKeyMetadata"]
            state[user["UserName"]] = sorted((key["AccessKeyId"], key["Status"]) for key in keys)
    return state


# ---------------------------------------------------------------------------------------------
# Options and their combinations, on a small account whose history the moto clock spreads over 100 days
# ---------------------------------------------------------------------------------------------


def test_options_and_combinations(run_playbook, proxy, moto, iam, use_key):
    iam.create_user(UserName="alice", Path="/eng/")
    iam.create_user(UserName="bob", Path="/svc/")
    iam.create_user(UserName="carol", Path="/svc/")  # no keys
    iam.create_user(UserName="dave", Path="/svc/team/")
    a1_key = iam.create_access_key(UserName="alice")["AccessKey"]
    iam.tag_user(UserName="alice", Tags=[{"Key": a1_key["AccessKeyId"], "Value": "ci pipeline"}])
    b1_key = iam.create_access_key(UserName="bob")["AccessKey"]
    iam.update_access_key(UserName="bob", AccessKeyId=b1_key["AccessKeyId"], Status="Inactive")
    d1_key = iam.create_access_key(UserName="dave")["AccessKey"]
    moto.advance(days=60, hours=1)
    a2_key = iam.create_access_key(UserName="alice")["AccessKey"]
    b2_key = iam.create_access_key(UserName="bob")["AccessKey"]
    iam.tag_user(UserName="bob", Tags=[{"Key": b2_key["AccessKeyId"], "Value": "deploy"}])
    use_key(a1_key)
    moto.advance(days=40, hours=1)
    use_key(b2_key)
    moto.advance(hours=2)
    # now: a1, b1, d1 are 100 days old, a2 and b2 40; a1 was last used 40 days ago, b2 2 hours ago; a2, b1, d1 never
    a1, a2, b1, b2, d1 = (key["AccessKeyId"] for key in (a1_key, a2_key, b1_key, b2_key, d1_key))
    before = account_keys(iam)

    result = run_playbook(
        [
            info("whole account"),
            info("whole account exact", exact_last_used=True),
            info("whole account as a module", AS_MODULE),
            {**info("whole account in check mode"), "check_mode": True},
            info("alice", user_name="alice"),
            info("alice without last use", user_name="alice", include_last_used=False),
            info("bob active by alias", username="bob", status="Active"),
            info("carol has no keys", user_name="carol"),
            info("owner of a1", id=a1),
            info("b2 with its owner", id=b2, user_name="bob"),
            info("b1 without last use", id=b1, include_last_used=False),
            info("inactive", status="Inactive"),
            info("older than 50", older_than_days=50),
            info("older than 101", older_than_days=101),
            info("unused for 41", unused_for_days=41),
            info("unused for 40", unused_for_days=40),
            info("old active unused", status="Active", older_than_days=50, unused_for_days=30),
            info("under /svc/", path_prefix="/svc/"),
            info("under /svc/team/", path_prefix="/svc/team/"),
            info("active under /svc/", path_prefix="/svc/", status="Active"),
            info("under /nobody/", path_prefix="/nobody/"),
            info("whole account without last use", include_last_used=False, max_workers=1),
        ]
    )
    assert result.rc == 0, result.summary()
    now = moto.now()

    exact = iam_report(iam, now)
    report = from_credential_report(exact, now)
    by_id = {entry["access_key_id"]: entry for entry in exact}
    assert [entry["access_key_id"] for entry in exact] == [a1, a2, b1, b2, d1]  # by user, then creation
    assert [(by_id[key]["age_days"], by_id[key]["days_since_last_used"]) for key in (a1, a2, b1, b2, d1)] == [
        (100, 40),
        (40, None),
        (100, None),
        (40, 0),
        (100, None),
    ]
    assert by_id[a1]["last_used_service"] == "iam"
    assert by_id[a1]["last_used_region"] == "us-east-1"

    whole = result.task("whole account")
    assert whole["access_keys"] == report
    assert whole["count"] == 5
    assert whole["changed"] is False
    assert "filters" not in whole
    # report mode: last use to the second (moto's credential report), which is the exact date truncated
    assert whole["access_keys"][0]["last_used_date"] == by_id[a1]["last_used_date"][:19] + "+00:00"
    assert result.task("whole account exact")["access_keys"] == exact
    assert result.task("whole account as a module")["access_keys"] == report
    assert result.task("whole account in check mode")["access_keys"] == report

    def entries(*key_ids: str, source: list[dict[str, Any]] = exact) -> list[dict[str, Any]]:
        table = {entry["access_key_id"]: entry for entry in source}
        return [table[key_id] for key_id in key_ids]

    alice = result.task("alice")
    assert alice["access_keys"] == entries(a1, a2)
    assert alice["filters"] == {"user_name": "alice"}
    assert alice["count"] == 2
    assert alice["access_keys"][0]["description"] == "ci pipeline"
    assert alice["access_keys"][1]["last_used_date"] is None
    assert result.task("alice without last use")["access_keys"] == without_last_use(entries(a1, a2))

    bob = result.task("bob active by alias")
    assert bob["access_keys"] == entries(b2)
    assert bob["filters"] == {"user_name": "bob", "status": "Active"}

    carol = result.task("carol has no keys")
    assert carol["access_keys"] == []
    assert carol["count"] == 0
    assert iam.get_user(UserName="carol")["User"]["UserName"] == "carol"

    owner = result.task("owner of a1")
    assert owner["access_keys"] == entries(a1)
    assert owner["access_keys"][0]["user_name"] == iam.get_access_key_last_used(AccessKeyId=a1)["UserName"]
    assert owner["filters"] == {"access_key_id": a1}
    assert result.task("b2 with its owner")["access_keys"] == entries(b2)
    assert result.task("b2 with its owner")["filters"] == {"access_key_id": b2, "user_name": "bob"}
    assert result.task("b1 without last use")["access_keys"] == without_last_use(entries(b1))

    whole_account_filters = {
        "inactive": ([b1], {"status": "Inactive"}),
        "older than 50": ([a1, b1, d1], {"older_than_days": 50}),
        "older than 101": ([], {"older_than_days": 101}),
        # a1 idle 40 days, a2 never used but 40 days old: not 41
        "unused for 41": ([b1, d1], {"unused_for_days": 41}),
        "unused for 40": ([a1, a2, b1, d1], {"unused_for_days": 40}),
        "old active unused": ([a1, d1], {"status": "Active", "older_than_days": 50, "unused_for_days": 30}),
        "under /svc/": ([b1, b2, d1], {"path_prefix": "/svc/"}),
        "under /svc/team/": ([d1], {"path_prefix": "/svc/team/"}),
        "active under /svc/": ([b2, d1], {"path_prefix": "/svc/", "status": "Active"}),
        "under /nobody/": ([], {"path_prefix": "/nobody/"}),
    }
    for task, (expected_ids, filters) in whole_account_filters.items():
        got = result.task(task)
        assert got["access_keys"] == entries(*expected_ids, source=report), task
        assert got["count"] == len(expected_ids), task
        assert got["filters"] == filters, task
    # the path filters agree with IAM's own PathPrefix
    assert [entry["access_key_id"] for entry in iam_report(iam, now, path_prefix="/svc/")] == [b1, b2, d1]

    bare = result.task("whole account without last use")
    assert bare["access_keys"] == without_last_use(report)
    assert "filters" not in bare

    assert set(proxy.actions()) <= READ_ACTIONS  # an info module never writes
    assert account_keys(iam) == before


# ---------------------------------------------------------------------------------------------
# Failures: clear messages, never a silent []
# ---------------------------------------------------------------------------------------------


def test_failures(run_playbook, proxy, iam):
    iam.create_user(UserName="alice")
    alices = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    iam.create_user(UserName="bob")
    before = account_keys(iam)

    result = run_playbook(
        [
            failing("missing user", user_name="ghost"),
            failing("unknown id", id=UNKNOWN_ID),
            failing("key of someone else", id=alices, user_name="bob"),
            # the rest is rejected before any IAM call
            failing("invalid user name", user_name="not valid"),
            failing("empty user name", user_name=""),
            failing("invalid id", id="akia-not-an-id"),
            failing("path_prefix with user_name", path_prefix="/svc/", user_name="alice"),
            failing("path_prefix with id", path_prefix="/svc/", id=alices),
            failing("path_prefix without slashes", path_prefix="svc"),
            failing("unknown status", status="active"),
            failing("negative age", older_than_days=-1),
            failing("negative idle", unused_for_days=-1),
            failing("unused without last use", unused_for_days=30, include_last_used=False),
            failing("no workers", max_workers=0),
            failing("too many workers", max_workers=65),
            failing("missing user as a module", AS_MODULE, user_name="ghost"),
        ]
    )
    assert result.rc == 0, result.summary()
    messages = {
        "missing user": "IAM user ghost does not exist",
        "unknown id": f"access key {UNKNOWN_ID} does not exist",
        "key of someone else": f"access key {alices} belongs to user alice, not bob",
        "invalid user name": "user_name 'not valid' is not a valid IAM user name "
        "(1-64 characters: letters, digits and + = , . @ _ -)",
        "empty user name": "user_name '' is not a valid IAM user name "
        "(1-64 characters: letters, digits and + = , . @ _ -)",
        "invalid id": "id 'akia-not-an-id' is not a valid access key id (16-128 upper-case letters and digits)",
        "path_prefix with user_name": "parameters are mutually exclusive: path_prefix|user_name",
        "path_prefix with id": "parameters are mutually exclusive: path_prefix|id",
        "path_prefix without slashes": "path_prefix 'svc' must begin and end with /, for example /service/",
        "unknown status": "value of status must be one of: Active, Inactive, got: active",
        "negative age": "older_than_days must be 0 or more, got -1",
        "negative idle": "unused_for_days must be 0 or more, got -1",
        "unused without last use": "unused_for_days needs last-use data; it cannot be combined with "
        "include_last_used=false",
        "no workers": "max_workers must be between 1 and 64, got 0",
        "too many workers": "max_workers must be between 1 and 64, got 65",
        "missing user as a module": "IAM user ghost does not exist",
    }
    for task, message in messages.items():
        got = result.task(task)
        assert got["failed"] is True, task
        assert got["msg"] == message, task
        assert "access_keys" not in got, task

    # only the three look-ups reached IAM; every invalid input was refused before any call
    assert proxy.actions() == ["ListAccessKeys", "GetAccessKeyLastUsed", "GetAccessKeyLastUsed", "ListAccessKeys"]
    assert [call.params.get("UserName") for call in proxy.calls if call.action == "ListAccessKeys"] == [
        "ghost",
        "ghost",
    ]
    # and IAM agrees: no ghost, no such key, alice owns her key
    for check in (lambda: iam.get_user(UserName="ghost"), lambda: iam.get_access_key_last_used(AccessKeyId=UNKNOWN_ID)):
        with pytest.raises(botocore.exceptions.ClientError) as error:
            check()
        assert error.value.response["Error"]["Code"] == "NoSuchEntity"
    assert iam.get_access_key_last_used(AccessKeyId=alices)["UserName"] == "alice"
    assert account_keys(iam) == before


def test_missing_user_in_check_mode_is_an_empty_report_with_a_warning(run_playbook, proxy, iam):
    """A check-mode run of a play whose earlier task would create the user goes on (outside check mode: an error)."""
    iam.create_user(UserName="alice")
    iam.create_access_key(UserName="alice")
    before = account_keys(iam)
    result = run_playbook(
        [
            {**info("ghost, check mode", user_name="ghost"), "check_mode": True},
            {**info("ghost, check mode, as a module", AS_MODULE, user_name="ghost"), "check_mode": True},
        ]
    )
    assert result.rc == 0, result.summary()
    for name in ("ghost, check mode", "ghost, check mode, as a module"):
        got = result.task(name)
        assert (got["access_keys"], got["count"], got["changed"]) == ([], 0, False), name
        assert got["warnings"] == [
            "IAM user ghost does not exist yet; check mode reports no keys for it, "
            "assuming an earlier task creates the user"
        ], name
    with pytest.raises(botocore.exceptions.ClientError):
        iam.get_user(UserName="ghost")
    assert account_keys(iam) == before


# ---------------------------------------------------------------------------------------------
# No keys, and the action group's module_defaults as the only connection settings
# ---------------------------------------------------------------------------------------------


def test_account_without_keys_through_module_defaults(run_playbook, proxy, iam):
    for name, path in (("alice", "/"), ("bob", "/svc/")):
        iam.create_user(UserName=name, Path=path)
    # Nothing else points anywhere useful: the endpoint from the environment is a closed port and there are no
    # credentials in it; only module_defaults for group/keyguard.aws.aws carry the proxy's address and keys.
    env = {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": None,
        "AWS_SECRET_ACCESS_KEY": None,
    }
    result = run_playbook(
        [
            info("whole account"),
            info("whole account again", max_workers=1),
            info("under /svc/", path_prefix="/svc/", status="Active"),
            info("alice", user_name="alice", exact_last_used=True),
        ],
        env=env,
        timeout=120,
    )
    assert result.rc == 0, result.summary()
    assert "group/keyguard.aws.aws" in result.playbook.read_text(encoding="utf-8")
    for task in ("whole account", "whole account again"):
        assert result.task(task)["access_keys"] == [], task
        assert result.task(task)["count"] == 0, task
        assert "filters" not in result.task(task), task
    assert result.task("under /svc/")["access_keys"] == []
    assert result.task("under /svc/")["filters"] == {"path_prefix": "/svc/", "status": "Active"}
    assert result.task("alice")["access_keys"] == []

    # Each whole-account task reads the credential report beside the listing, even with no key to place: its root
    # row is where a root key shows (in real IAM). Every call went through the proxy.
    actions = proxy.actions()
    report_calls = ("GenerateCredentialReport", "GetCredentialReport")
    assert sorted(action for action in actions if action not in report_calls) == sorted(
        ["GetAccountAuthorizationDetails"] * 3 + ["ListAccessKeys"] * 6  # 2 + 2 users, 1 under /svc/, then alice
    )
    assert actions.count("GetCredentialReport") == 3
    assert 3 <= actions.count("GenerateCredentialReport") <= 3 + 3  # requested, and polled once or more (moto: once)
    assert account_keys(iam) == {"alice": [], "bob": []}


# ---------------------------------------------------------------------------------------------
# A 200-user account: key by key against boto3, within the API-call budget, and under throttling
# ---------------------------------------------------------------------------------------------

USERS = 200


def _in_parallel(function, items) -> list[Any]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(function, items))


def make_account(moto, iam, use_key, users: int) -> list[str]:
    """``users`` users with 2 keys each, the second created 10 days after the first; every fifth user under /svc/;
    the first key of even users described; the second key of every third user Inactive; half the keys used
    (user n: both keys when n % 4 == 0, the first when 1, the second when 2, none when 3)."""
    names = [f"user-{number:03d}" for number in range(users)]

    def first_key(number: int) -> dict[str, Any]:
        name = names[number]
        iam.create_user(UserName=name, Path="/svc/" if number % 5 == 0 else "/")
        created = iam.create_access_key(UserName=name)["AccessKey"]
        if number % 2 == 0:
            iam.tag_user(UserName=name, Tags=[{"Key": created["AccessKeyId"], "Value": f"team {number % 7}"}])
        return created

    def second_key(number: int) -> dict[str, Any]:
        created = iam.create_access_key(UserName=names[number])["AccessKey"]
        if number % 3 == 0:
            iam.update_access_key(UserName=names[number], AccessKeyId=created["AccessKeyId"], Status="Inactive")
        return created

    firsts = _in_parallel(first_key, range(users))
    moto.advance(days=10, hours=1)
    seconds = _in_parallel(second_key, range(users))
    moto.advance(days=3, hours=1)
    used = [
        created
        for number in range(users)
        for created in {0: (firsts[number], seconds[number]), 1: (firsts[number],), 2: (seconds[number],), 3: ()}[
            number % 4
        ]
    ]
    assert len(used) == users  # half of the keys
    _in_parallel(use_key, used)
    moto.advance(days=2, hours=1)
    return names


def test_large_account(run_playbook, proxy, moto, iam, use_key):
    names = make_account(moto, iam, use_key, USERS)
    result = run_playbook([info("report"), info("exact", exact_last_used=True)])
    assert result.rc == 0, result.summary()
    now = moto.now()

    # key by key, as boto3 reads IAM
    exact = iam_report(iam, now)
    report = from_credential_report(exact, now)
    assert len(report) == 2 * USERS
    assert sorted({entry["user_name"] for entry in report}) == names
    assert result.task("report")["access_keys"] == report
    assert result.task("report")["count"] == 2 * USERS
    assert result.task("exact")["access_keys"] == exact
    used = [entry for entry in exact if entry["last_used_date"] is not None]
    assert len(used) == USERS
    assert {(entry["last_used_service"], entry["last_used_region"]) for entry in used} == {("iam", "us-east-1")}
    assert {entry["days_since_last_used"] for entry in used} == {2}
    assert {entry["age_days"] for entry in exact} == {15, 5}
    assert sum(entry["description"] is not None for entry in exact) == USERS // 2
    assert sum(entry["status"] == "Inactive" for entry in exact) == math.ceil(USERS / 3)

    # the calls of each task (they ran one after the other: the second starts with its own user list)
    actions = proxy.actions()
    second_start = [index for index, action in enumerate(actions) if action == "GetAccountAuthorizationDetails"][1]
    report_calls, exact_calls = actions[:second_start], actions[second_start:]
    assert len(report_calls) <= USERS + math.ceil(USERS / 100) + 5  # the budget of issue 4
    assert len(report_calls) <= USERS + math.ceil(USERS / 1000) + 5  # the tighter bound the module documents
    assert report_calls.count("ListAccessKeys") == USERS
    assert report_calls.count("GetCredentialReport") == 1
    assert report_calls.count("GetAccessKeyLastUsed") == 0  # the report placed every key
    assert exact_calls.count("GetAccessKeyLastUsed") == 2 * USERS
    assert exact_calls.count("ListAccessKeys") == USERS
    assert "GetCredentialReport" not in exact_calls
    assert set(actions) <= READ_ACTIONS


def test_throttled_whole_account(run_playbook, proxy, moto, iam, use_key):
    """30% of the calls throttled at random: botocore's retry mode (adaptive, 10 attempts: the module's default for
    reports) absorbs it, and the report is identical to the one without throttling, and to IAM's state."""
    users = 60
    names = make_account(moto, iam, use_key, users)
    calm = run_playbook([info("report")])
    assert calm.rc == 0, calm.summary()
    proxy.reset_calls()
    rule = proxy.add_fault("throttle", rate=0.3)
    result = run_playbook([info("report under throttling")])
    assert result.rc == 0, result.summary()
    now = moto.now()
    assert rule.fired > 0
    throttled = [call for call in proxy.calls if call.error_code == "Throttling"]
    assert len(throttled) == rule.fired
    assert len(proxy.calls) - len(throttled) <= users + math.ceil(users / 100) + 5  # retries aside, the budget
    assert result.task("report under throttling")["access_keys"] == calm.task("report")["access_keys"]
    report = from_credential_report(iam_report(iam, now), now)
    assert sorted({entry["user_name"] for entry in report}) == names
    assert result.task("report under throttling")["access_keys"] == report
    assert result.task("report under throttling")["count"] == 2 * users


def test_whole_account_within_iam_rate_limit(run_playbook, proxy, moto, iam, use_key):
    """IAM's rate limit as a token bucket (5 calls a second, burst 5) against the default 16 calls at once:
    throttled calls are retried until the report is complete, and it is IAM's state. In botocore's standard
    retry mode the client's retry quota runs dry here after about 70 calls and the report fails; in adaptive mode
    (the module's default for reports) the client slows down to the limit."""
    users = 100
    names = make_account(moto, iam, use_key, users)
    proxy.reset_calls()
    proxy.set_rate_limit(5, burst=5)
    try:
        result = run_playbook([info("report at the rate limit")])
    finally:
        proxy.clear_rate_limit()
    assert result.rc == 0, result.summary()
    now = moto.now()
    assert proxy.throttled() > 0  # the limit was met
    assert proxy.logical_calls() <= users + math.ceil(users / 100) + 5  # retries aside, the budget
    report = from_credential_report(iam_report(iam, now), now)
    assert sorted({entry["user_name"] for entry in report}) == names
    assert result.task("report at the rate limit")["access_keys"] == report
    assert result.task("report at the rate limit")["count"] == 2 * users
