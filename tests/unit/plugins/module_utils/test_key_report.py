# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import math
import os
import threading
import typing as t
from pathlib import Path

import boto3
import boto3.session
import botocore.awsrequest
import botocore.config
import botocore.exceptions
import botocore.session
import pytest
from botocore.stub import Stubber
from freezegun import freeze_time
from moto import mock_aws
from unit_tasks import report_access_keys, report_request, validated

from ansible_collections.keyguard.aws.plugins.module_utils import _credential_report, _key_task, _report_task
from ansible_collections.keyguard.aws.plugins.module_utils._aws import AwsError, aws_client, connection_kwargs
from ansible_collections.keyguard.aws.plugins.module_utils._credential_report import (
    CREDENTIAL_REPORT_POLL_DELAYS,
    CredentialReport,
    RequestedReport,
    read_credential_report,
    request_credential_report,
)
from ansible_collections.keyguard.aws.plugins.module_utils._credential_report import (
    match_credential_report as match_report,
)
from ansible_collections.keyguard.aws.plugins.module_utils._credential_report_fetch import CredentialReportFetch
from ansible_collections.keyguard.aws.plugins.module_utils._key_report import (
    DEFAULT_MAX_WORKERS,
    Collected,
    ReportRequest,
    build_report,
    key_report_entry,
    matches_filters,
)
from ansible_collections.keyguard.aws.plugins.module_utils._key_types import AccessKey, LastUse

UTC = datetime.timezone.utc
KEY_A = "AKIAAAAAAAAAAAAAAAA1"
KEY_B = "AKIAAAAAAAAAAAAAAAA2"
KEY_C = "AKIAAAAAAAAAAAAAAAA3"
KEY_D = "AKIAAAAAAAAAAAAAAAA4"
UNKNOWN_ID = "AKIAXXXXXXXXXXXXXXX9"
NOW = datetime.datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
LAST_USE_FIELDS = ("last_used_date", "last_used_service", "last_used_region", "days_since_last_used")


def at(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


# =============================================================================================
# ReportRequest.from_params
# =============================================================================================


def test_request_defaults() -> None:
    request = report_request({})
    assert request == ReportRequest(
        user_name=None,
        access_key_id=None,
        path_prefix=None,
        status=None,
        older_than_days=None,
        unused_for_days=None,
        include_last_used=True,
        exact_last_used=False,
        max_workers=DEFAULT_MAX_WORKERS,
    )
    assert request.filters() == {}


def test_request_module_params_with_nulls() -> None:
    """The module passes every option, unset ones as None: the same as leaving them out."""
    params = dict.fromkeys(
        ("user_name", "id", "path_prefix", "status", "older_than_days", "unused_for_days"),
    )
    params.update(include_last_used=True, exact_last_used=False, max_workers=DEFAULT_MAX_WORKERS)
    params.update(include_findings=False, findings_unused_days=45, findings_max_key_age_days=90)
    params.update(max_calls_per_second=None)
    assert ReportRequest.from_params(params) == ReportRequest()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({"user_name": "deploy+ci=1,a.b@c_d-e"}, {"user_name": "deploy+ci=1,a.b@c_d-e"}, id="user"),
        pytest.param({"user_name": "u" * 64}, {"user_name": "u" * 64}, id="user-64-chars"),
        pytest.param({"id": KEY_A}, {"access_key_id": KEY_A}, id="id-as-access_key_id"),
        pytest.param({"id": KEY_A, "user_name": "bob"}, {"access_key_id": KEY_A, "user_name": "bob"}, id="id+user"),
        pytest.param({"path_prefix": "/"}, {"path_prefix": "/"}, id="path-root"),
        pytest.param({"path_prefix": "/svc/ci/"}, {"path_prefix": "/svc/ci/"}, id="path-nested"),
        pytest.param({"status": "Active"}, {"status": "Active"}, id="active"),
        pytest.param({"status": "Inactive"}, {"status": "Inactive"}, id="inactive"),
        pytest.param({"older_than_days": 0}, {"older_than_days": 0}, id="older-0-is-a-filter"),
        pytest.param({"unused_for_days": 0}, {"unused_for_days": 0}, id="unused-0-is-a-filter"),
        pytest.param(
            {"status": "Active", "older_than_days": 90, "unused_for_days": 45, "path_prefix": "/svc/"},
            {"status": "Active", "older_than_days": 90, "unused_for_days": 45, "path_prefix": "/svc/"},
            id="combined",
        ),
        pytest.param({"include_last_used": False}, {}, id="no-last-use-is-not-a-filter"),
        pytest.param({"exact_last_used": True}, {}, id="exact-is-not-a-filter"),
        pytest.param({"max_workers": 1}, {}, id="workers-1"),
        pytest.param({"max_workers": 64}, {}, id="workers-64"),
    ],
)
def test_request_accepts(params: dict[str, t.Any], expected: dict[str, t.Any]) -> None:
    request = report_request(params)
    assert request.filters() == expected
    if "max_workers" in params:
        assert request.max_workers == params["max_workers"]
    assert request.include_last_used is params.get("include_last_used", True)
    assert request.exact_last_used is params.get("exact_last_used", False)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        pytest.param(
            {"user_name": "bad name"},
            "user_name 'bad name' is not a valid IAM user name (1-64 characters: letters, digits and + = , . @ _ -)",
            id="user-space",
        ),
        pytest.param({"user_name": "u" * 65}, f"user_name '{'u' * 65}' is not a valid IAM user name", id="user-65"),
        pytest.param({"user_name": "ümlaut"}, "user_name 'ümlaut' is not a valid IAM user name", id="user-non-ascii"),
        pytest.param({"user_name": "a/b"}, "user_name 'a/b' is not a valid IAM user name", id="user-slash"),
        pytest.param(
            {"id": "akiaaaaaaaaaaaaaaaa1"},
            "id 'akiaaaaaaaaaaaaaaaa1' is not a valid access key id (16-128 upper-case letters and digits)",
            id="id-lower-case",
        ),
        pytest.param({"id": "AKIA123"}, "id 'AKIA123' is not a valid access key id", id="id-short"),
        pytest.param({"id": "AKIA-AAAAAAAAAAAAAAA"}, "is not a valid access key id", id="id-dash"),
        pytest.param({"id": ""}, "id '' is not a valid access key id", id="id-empty"),
        pytest.param(
            {"path_prefix": "/svc/", "user_name": "bob"},
            "parameters are mutually exclusive: path_prefix|user_name",
            id="path+user",
        ),
        pytest.param(
            {"path_prefix": "/svc/", "id": KEY_A},
            "parameters are mutually exclusive: path_prefix|id",
            id="path+id",
        ),
        pytest.param(
            {"path_prefix": "svc/"},
            "path_prefix 'svc/' must begin and end with /, for example /service/",
            id="path-no-leading-slash",
        ),
        pytest.param({"path_prefix": "/svc"}, "path_prefix '/svc' must begin and end with /", id="path-no-trailing"),
        pytest.param(
            {"status": "active"}, "value of status must be one of: Active, Inactive, got: active", id="status-lower"
        ),
        pytest.param(
            {"status": "Expired"}, "value of status must be one of: Active, Inactive, got: Expired", id="status-unknown"
        ),
        pytest.param({"older_than_days": -1}, "older_than_days must be 0 or more, got -1", id="older-negative"),
        pytest.param({"unused_for_days": -5}, "unused_for_days must be 0 or more, got -5", id="unused-negative"),
        pytest.param(
            {"unused_for_days": 30, "include_last_used": False},
            "unused_for_days needs last-use data; it cannot be combined with include_last_used=false",
            id="unused-without-last-use",
        ),
        pytest.param({"max_workers": 0}, "max_workers must be between 1 and 64, got 0", id="workers-0"),
        pytest.param({"max_workers": 65}, "max_workers must be between 1 and 64, got 65", id="workers-65"),
        pytest.param({"max_workers": -1}, "max_workers must be between 1 and 64, got -1", id="workers-negative"),
        pytest.param({"max_calls_per_second": 0}, "max_calls_per_second must be greater than 0, got 0", id="rate-0"),
    ],
)
def test_request_rejects(params: dict[str, t.Any], message: str) -> None:
    with pytest.raises(AwsError) as error:
        report_request(params)
    assert message in error.value.message
    assert error.value.code is None


def test_request_empty_user_name_is_not_a_whole_account_report() -> None:
    """user_name given but empty (e.g. an undefined variable templated to "") names no valid user: it must be
    rejected like any other invalid name, not silently widen the report to every user of the account."""
    with pytest.raises(AwsError) as error:
        report_request({"user_name": ""})
    assert "is not a valid IAM user name" in error.value.message


# =============================================================================================
# match_credential_report (pure)
# =============================================================================================


def report_row(user: str, *slots: tuple[str, str, str, str]) -> dict[str, str]:
    """A credential report row; each slot is (last_rotated, last_used_date, service, region)."""
    row = {"user": user, "arn": f"arn:aws:iam::123456789012:user/{user}"}
    padded = list(slots) + [("N/A", "N/A", "N/A", "N/A")] * (2 - len(slots))
    for number, (rotated, used, service, region) in enumerate(padded, start=1):
        row[f"access_key_{number}_active"] = "true" if rotated != "N/A" else "false"
        row[f"access_key_{number}_last_rotated"] = rotated
        row[f"access_key_{number}_last_used_date"] = used
        row[f"access_key_{number}_last_used_service"] = service
        row[f"access_key_{number}_last_used_region"] = region
    return row


def match_credential_report(
    keys: list[AccessKey], rows: list[dict[str, str]], generated_at: datetime.datetime | None = None
) -> dict[str, LastUse]:
    return match_report(keys, CredentialReport(rows, generated_at))


def key(key_id: str, user: str, created: datetime.datetime, status: str = "Active", description: str | None = None):
    return AccessKey(access_key_id=key_id, user_name=user, status=status, create_date=created, description=description)


def test_match_by_creation_second_regardless_of_slot_order() -> None:
    older = key(KEY_A, "alice", at(2025, 1, 10, 8, 0, 0).replace(microsecond=123456))
    newer = key(KEY_B, "alice", at(2025, 6, 1, 9, 30, 15).replace(microsecond=999999))
    # key_1 holds the newer key, key_2 the older: the slot number says nothing, the creation second does
    row = report_row(
        "alice",
        ("2025-06-01T09:30:15+00:00", "2026-02-27T10:11:12+00:00", "s3", "eu-west-1"),
        ("2025-01-10T08:00:00+00:00", "2025-12-24T00:00:01+00:00", "iam", "us-east-1"),
    )
    matched = match_credential_report([older, newer], [row])
    assert matched == {
        KEY_A: LastUse(at(2025, 12, 24, 0, 0, 1), "iam", "us-east-1"),
        KEY_B: LastUse(at(2026, 2, 27, 10, 11, 12), "s3", "eu-west-1"),
    }


def test_match_never_used_key_na_values() -> None:
    """A key the report places but never used: matched (no lookup needed), every field None, not "N/A"."""
    only = key(KEY_A, "bob", at(2025, 2, 3, 4, 5, 6))
    row = report_row("bob", ("2025-02-03T04:05:06+00:00", "N/A", "N/A", "N/A"))
    assert match_credential_report([only], [row]) == {KEY_A: LastUse(None, None, None)}


@pytest.mark.parametrize("placeholder", ["N/A", "not_supported", "no_information", ""])
def test_match_placeholders_for_service_and_region(placeholder: str) -> None:
    only = key(KEY_A, "bob", at(2025, 2, 3, 4, 5, 6))
    row = report_row("bob", ("2025-02-03T04:05:06+00:00", "2026-01-01T00:00:00+00:00", placeholder, placeholder))
    assert match_credential_report([only], [row]) == {KEY_A: LastUse(at(2026, 1, 1), None, None)}


def test_match_zulu_dates() -> None:
    only = key(KEY_A, "bob", at(2025, 2, 3, 4, 5, 6))
    row = report_row("bob", ("2025-02-03T04:05:06Z", "2026-01-01T00:00:00Z", "sts", "us-east-2"))
    assert match_credential_report([only], [row]) == {KEY_A: LastUse(at(2026, 1, 1), "sts", "us-east-2")}


def test_match_user_missing_from_report() -> None:
    """A user created after the report was generated has no row: their keys are left for lookups."""
    carol = key(KEY_C, "carol", at(2025, 2, 3, 4, 5, 6))
    row = report_row("alice", ("2025-02-03T04:05:06+00:00", "2026-01-01T00:00:00+00:00", "s3", "eu-west-1"))
    assert match_credential_report([carol], [row]) == {}


def test_match_key_newer_than_report_and_rows_of_other_users() -> None:
    """Only the same user's row counts, and only a slot whose creation second is the key's."""
    replaced = key(KEY_A, "alice", at(2025, 3, 1, 0, 0, 0))  # created after the report: no slot has its second
    bobs = key(KEY_B, "bob", at(2025, 1, 1, 0, 0, 0))  # same second as alice's old key, but bob's row is absent
    report = [report_row("alice", ("2025-01-01T00:00:00+00:00", "2025-02-01T00:00:00+00:00", "s3", "eu-west-1"))]
    assert match_credential_report([replaced, bobs], report) == {}


def test_match_two_keys_created_in_the_same_second_are_both_left_out() -> None:
    first = key(KEY_A, "alice", at(2025, 4, 4, 4, 4, 4).replace(microsecond=100))
    second = key(KEY_B, "alice", at(2025, 4, 4, 4, 4, 4).replace(microsecond=900000))
    other = key(KEY_C, "bob", at(2025, 4, 4, 4, 4, 4))  # same second, other user: unaffected
    report = [
        report_row(
            "alice",
            ("2025-04-04T04:04:04+00:00", "2026-01-01T00:00:00+00:00", "s3", "eu-west-1"),
            ("2025-04-04T04:04:04+00:00", "N/A", "N/A", "N/A"),
        ),
        report_row("bob", ("2025-04-04T04:04:04+00:00", "2026-02-02T00:00:00+00:00", "ec2", "us-west-2")),
    ]
    assert match_credential_report([first, second, other], report) == {
        KEY_C: LastUse(at(2026, 2, 2), "ec2", "us-west-2")
    }


def test_match_unparseable_and_missing_columns() -> None:
    only = key(KEY_A, "bob", at(2025, 2, 3, 4, 5, 6))
    assert match_credential_report([only], [{"user": "bob"}]) == {}
    garbage = report_row("bob", ("yesterday", "2026-01-01T00:00:00+00:00", "s3", "eu-west-1"))
    assert match_credential_report([only], [garbage]) == {}
    bad_use = report_row("bob", ("2025-02-03T04:05:06+00:00", "last tuesday", "s3", "eu-west-1"))
    assert match_credential_report([only], [bad_use]) == {KEY_A: LastUse(None, "s3", "eu-west-1")}


def test_match_empty_inputs() -> None:
    assert match_credential_report([], [report_row("alice")]) == {}
    assert match_credential_report([key(KEY_A, "alice", at(2025, 1, 1))], []) == {}


# =============================================================================================
# key_report_entry, matches_filters, build_report (pure, fixed datetimes)
# =============================================================================================


def test_entry_ages_and_last_use() -> None:
    created = NOW - datetime.timedelta(days=90)
    used = LastUse(NOW - datetime.timedelta(hours=23), "s3", "eu-west-1")
    entry = key_report_entry(key(KEY_A, "alice", created, description="ci"), NOW, used, include_last_used=True)
    assert entry == {
        "access_key_id": KEY_A,
        "user_name": "alice",
        "status": "Active",
        "create_date": "2025-12-01T12:00:00+00:00",
        "description": "ci",
        "age_days": 90,
        "last_used_date": "2026-02-28T13:00:00+00:00",
        "last_used_service": "s3",
        "last_used_region": "eu-west-1",
        "days_since_last_used": 0,
    }


@pytest.mark.parametrize(
    ("age", "days"),
    [
        (datetime.timedelta(0), 0),
        (datetime.timedelta(days=1) - datetime.timedelta(seconds=1), 0),
        (datetime.timedelta(days=1), 1),
        (datetime.timedelta(days=90) - datetime.timedelta(seconds=1), 89),
        # Ages are counted to the second (IAM's clock is known to the second): a fraction short is a whole day.
        (datetime.timedelta(days=90) - datetime.timedelta(microseconds=1), 90),
        (datetime.timedelta(days=400, hours=23), 400),
        (-datetime.timedelta(minutes=5), 0),  # IAM's clock slightly behind the key: never negative
    ],
)
def test_entry_whole_days(age: datetime.timedelta, days: int) -> None:
    entry = key_report_entry(key(KEY_A, "a", NOW - age), NOW, LastUse(NOW - age), include_last_used=True)
    assert entry["age_days"] == days
    assert entry["days_since_last_used"] == days


def test_entry_never_used() -> None:
    entry = key_report_entry(key(KEY_A, "a", at(2026, 1, 1)), NOW, LastUse(), include_last_used=True)
    assert {name: entry[name] for name in LAST_USE_FIELDS} == dict.fromkeys(LAST_USE_FIELDS)
    assert entry["age_days"] == 59
    # no last-use data at all (not collected) reads the same
    assert key_report_entry(key(KEY_A, "a", at(2026, 1, 1)), NOW, None, include_last_used=True) == entry


def test_entry_without_last_use_fields() -> None:
    used = LastUse(at(2026, 2, 1), "s3", "eu-west-1")
    entry = key_report_entry(key(KEY_A, "a", at(2026, 1, 1), "Inactive"), NOW, used, include_last_used=False)
    assert entry == {
        "access_key_id": KEY_A,
        "user_name": "a",
        "status": "Inactive",
        "create_date": "2026-01-01T00:00:00+00:00",
        "description": None,
        "age_days": 59,
    }


def entry_of(status: str = "Active", age: int = 0, idle: int | None = None) -> dict[str, t.Any]:
    return {"status": status, "age_days": age, "days_since_last_used": idle}


@pytest.mark.parametrize(
    ("entry", "params", "matches"),
    [
        (entry_of(), {}, True),
        (entry_of("Inactive"), {"status": "Inactive"}, True),
        (entry_of("Active"), {"status": "Inactive"}, False),
        (entry_of("Inactive"), {"status": "Active"}, False),
        (entry_of(age=90), {"older_than_days": 90}, True),
        (entry_of(age=89), {"older_than_days": 90}, False),
        (entry_of(age=0), {"older_than_days": 0}, True),
        (entry_of(age=100, idle=45), {"unused_for_days": 45}, True),
        (entry_of(age=100, idle=44), {"unused_for_days": 45}, False),
        # never used: idle since creation
        (entry_of(age=45, idle=None), {"unused_for_days": 45}, True),
        (entry_of(age=44, idle=None), {"unused_for_days": 45}, False),
        # used recently although old: not unused
        (entry_of(age=400, idle=1), {"unused_for_days": 45}, False),
        (entry_of(age=400, idle=1), {"older_than_days": 90}, True),
        # every filter must hold
        (entry_of("Active", 100, 50), {"status": "Active", "older_than_days": 90, "unused_for_days": 45}, True),
        (entry_of("Inactive", 100, 50), {"status": "Active", "older_than_days": 90, "unused_for_days": 45}, False),
        (entry_of("Active", 80, 50), {"status": "Active", "older_than_days": 90, "unused_for_days": 45}, False),
        (entry_of("Active", 100, 40), {"status": "Active", "older_than_days": 90, "unused_for_days": 45}, False),
    ],
)
def test_matches_filters(entry: dict[str, t.Any], params: dict[str, t.Any], matches: bool) -> None:
    assert matches_filters(entry, report_request(params)) is matches


def sample_collected(warnings: list[str] | None = None) -> Collected:
    keys = [
        key(KEY_D, "zed", at(2025, 1, 1)),
        key(KEY_B, "alice", at(2026, 2, 1), "Inactive"),
        key(KEY_C, "bob", at(2025, 6, 1), description="deploy"),
        key(KEY_A, "alice", at(2025, 11, 1)),
    ]
    last_used = {
        KEY_A: LastUse(at(2026, 2, 20), "s3", "eu-west-1"),
        KEY_C: LastUse(at(2025, 7, 1), "iam", "us-east-1"),
    }
    return Collected(keys, last_used, NOW, list(warnings or []))


def test_build_report_sorted_by_user_then_creation() -> None:
    result = build_report(sample_collected(), report_request({}))
    assert result == {
        "changed": False,
        "count": 4,
        "access_keys": [
            {
                "access_key_id": KEY_A,
                "user_name": "alice",
                "status": "Active",
                "create_date": "2025-11-01T00:00:00+00:00",
                "description": None,
                "age_days": 120,
                "last_used_date": "2026-02-20T00:00:00+00:00",
                "last_used_service": "s3",
                "last_used_region": "eu-west-1",
                "days_since_last_used": 9,
            },
            {
                "access_key_id": KEY_B,
                "user_name": "alice",
                "status": "Inactive",
                "create_date": "2026-02-01T00:00:00+00:00",
                "description": None,
                "age_days": 28,
                "last_used_date": None,
                "last_used_service": None,
                "last_used_region": None,
                "days_since_last_used": None,
            },
            {
                "access_key_id": KEY_C,
                "user_name": "bob",
                "status": "Active",
                "create_date": "2025-06-01T00:00:00+00:00",
                "description": "deploy",
                "age_days": 273,
                "last_used_date": "2025-07-01T00:00:00+00:00",
                "last_used_service": "iam",
                "last_used_region": "us-east-1",
                "days_since_last_used": 243,
            },
            {
                "access_key_id": KEY_D,
                "user_name": "zed",
                "status": "Active",
                "create_date": "2025-01-01T00:00:00+00:00",
                "description": None,
                "age_days": 424,
                "last_used_date": None,
                "last_used_service": None,
                "last_used_region": None,
                "days_since_last_used": None,
            },
        ],
    }
    assert "filters" not in result
    assert "warnings" not in result


@pytest.mark.parametrize(
    ("params", "expected_ids", "filters"),
    [
        ({"status": "Active"}, [KEY_A, KEY_C, KEY_D], {"status": "Active"}),
        ({"status": "Inactive"}, [KEY_B], {"status": "Inactive"}),
        ({"older_than_days": 121}, [KEY_C, KEY_D], {"older_than_days": 121}),
        ({"older_than_days": 120}, [KEY_A, KEY_C, KEY_D], {"older_than_days": 120}),
        # KEY_B never used, 28 days old; KEY_D never used, 424 days old; KEY_C idle 243 days; KEY_A idle 9 days
        ({"unused_for_days": 28}, [KEY_B, KEY_C, KEY_D], {"unused_for_days": 28}),
        ({"unused_for_days": 29}, [KEY_C, KEY_D], {"unused_for_days": 29}),
        ({"unused_for_days": 0}, [KEY_A, KEY_B, KEY_C, KEY_D], {"unused_for_days": 0}),
        (
            {"status": "Active", "older_than_days": 300, "unused_for_days": 100},
            [KEY_D],
            {"status": "Active", "older_than_days": 300, "unused_for_days": 100},
        ),
        ({"status": "Inactive", "older_than_days": 29}, [], {"status": "Inactive", "older_than_days": 29}),
        # user_name/id/path_prefix only narrow what is collected; build_report echoes them as filters
        ({"user_name": "alice", "status": "Active"}, [KEY_A, KEY_C, KEY_D], {"user_name": "alice", "status": "Active"}),
        ({"path_prefix": "/svc/"}, [KEY_A, KEY_B, KEY_C, KEY_D], {"path_prefix": "/svc/"}),
        ({"id": KEY_C}, [KEY_A, KEY_B, KEY_C, KEY_D], {"access_key_id": KEY_C}),
    ],
)
def test_build_report_filters(params: dict[str, t.Any], expected_ids: list[str], filters: dict[str, t.Any]) -> None:
    result = build_report(sample_collected(), report_request(params))
    assert [entry["access_key_id"] for entry in result["access_keys"]] == expected_ids
    assert result["count"] == len(expected_ids)
    assert result["filters"] == filters


def test_build_report_without_last_use_and_with_warnings() -> None:
    result = build_report(sample_collected(["report unavailable"]), report_request({"include_last_used": False}))
    assert [entry["access_key_id"] for entry in result["access_keys"]] == [KEY_A, KEY_B, KEY_C, KEY_D]
    for entry in result["access_keys"]:
        assert not set(LAST_USE_FIELDS) & set(entry)
    assert result["warnings"] == ["report unavailable"]
    assert "filters" not in result


def test_build_report_empty() -> None:
    result = build_report(Collected([], {}, NOW), report_request({}))
    assert result == {"changed": False, "access_keys": [], "count": 0}


def test_build_report_without_server_time_uses_local_clock() -> None:
    created = datetime.datetime.now(UTC) - datetime.timedelta(days=3, hours=1)
    result = build_report(Collected([key(KEY_A, "a", created)], {}, None), report_request({}))
    assert result["access_keys"][0]["age_days"] == 3


# =============================================================================================
# read_credential_report: botocore's Stubber answers, time.sleep is recorded
# =============================================================================================

REPORT_CSV = (
    "user,arn,access_key_1_last_rotated,access_key_1_last_used_date\n"
    "alice,arn:aws:iam::123456789012:user/alice,2025-01-01T00:00:00+00:00,N/A\n"
    "bob,arn:aws:iam::123456789012:user/bob,N/A,N/A\n"
)
GENERATED = datetime.datetime(2026, 2, 28, 23, 0, 0, tzinfo=UTC)


class PollClock:
    """time.monotonic and time.sleep for the polling: time passes only when it sleeps, or when a test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def install_poll_clock(monkeypatch: pytest.MonkeyPatch) -> PollClock:
    """A PollClock in place of the time module's; install it after any freeze_time block (which restores time's
    functions when it ends)."""
    clock = PollClock()
    monkeypatch.setattr(_credential_report.time, "sleep", clock.sleep)
    monkeypatch.setattr(_credential_report.time, "monotonic", clock.monotonic)
    return clock


@pytest.fixture
def poll_clock(monkeypatch: pytest.MonkeyPatch) -> PollClock:
    return install_poll_clock(monkeypatch)


@pytest.fixture
def slept(poll_clock: PollClock) -> list[float]:
    """The delays the credential report polling waited (it waits for nothing)."""
    return poll_clock.slept


def stubbed_report_client(states: list[str], content: bytes = REPORT_CSV.encode()) -> tuple[t.Any, Stubber]:
    """An IAM client answering GenerateCredentialReport with ``states`` in turn, then GetCredentialReport."""
    client = aws_client("iam", access_key="AKIAEXAMPLE", secret_key="not-a-secret", region="us-east-1")
    stubber = Stubber(client)
    for state in states:
        stubber.add_response("generate_credential_report", {"State": state}, {})
    if states and states[-1] == "COMPLETE":
        stubber.add_response(
            "get_credential_report", {"Content": content, "ReportFormat": "text/csv", "GeneratedTime": GENERATED}, {}
        )
    stubber.activate()
    return client, stubber


EXPECTED_ROWS = [
    {
        "user": "alice",
        "arn": "arn:aws:iam::123456789012:user/alice",
        "access_key_1_last_rotated": "2025-01-01T00:00:00+00:00",
        "access_key_1_last_used_date": "N/A",
    },
    {
        "user": "bob",
        "arn": "arn:aws:iam::123456789012:user/bob",
        "access_key_1_last_rotated": "N/A",
        "access_key_1_last_used_date": "N/A",
    },
]


@pytest.mark.parametrize(
    ("states", "sleeps"),
    [
        (["COMPLETE"], []),
        (["STARTED", "COMPLETE"], [0.5]),
        (["STARTED", "INPROGRESS", "INPROGRESS", "COMPLETE"], [0.5, 1.0, 2.0]),
    ],
)
def test_read_credential_report_polls(states: list[str], sleeps: list[float], slept: list[float]) -> None:
    client, stubber = stubbed_report_client(states)
    assert read_credential_report(client) == CredentialReport(EXPECTED_ROWS, GENERATED)
    assert slept == sleeps
    stubber.assert_no_pending_responses()  # every GenerateCredentialReport, then one GetCredentialReport


@pytest.mark.parametrize(
    ("states", "elapsed", "sleeps"),
    [
        (["COMPLETE"], 0.4, []),  # ready when requested: no further GenerateCredentialReport
        (["STARTED", "COMPLETE"], 0.4, [0.1]),  # polled 0.5 s after the request, not 0.5 s after the read began
        (["STARTED", "COMPLETE"], 0.7, []),
        (["STARTED", "INPROGRESS", "COMPLETE"], 0.7, [0.8]),  # the second poll 1.5 s after the request
    ],
)
def test_read_credential_report_counts_the_time_since_it_was_requested(
    states: list[str], elapsed: float, sleeps: list[float], poll_clock: PollClock
) -> None:
    client, stubber = stubbed_report_client(states)
    requested = request_credential_report(client)
    assert requested == RequestedReport(states[0], 1000.0)
    poll_clock.now += elapsed  # the caller lists the keys meanwhile
    assert read_credential_report(client, requested) == CredentialReport(EXPECTED_ROWS, GENERATED)
    assert poll_clock.slept == sleeps
    stubber.assert_no_pending_responses()


def test_a_refused_request_is_raised_when_the_report_is_read(slept: list[float]) -> None:
    client = aws_client("iam", access_key="AKIAEXAMPLE", secret_key="not-a-secret", region="us-east-1")
    stubber = Stubber(client)
    stubber.add_client_error("generate_credential_report", "AccessDenied", "not allowed", 403)
    stubber.activate()
    requested = request_credential_report(client)  # does not raise: the caller goes on listing keys
    assert requested.state is None and requested.error is not None
    with pytest.raises(AwsError) as error:
        read_credential_report(client, requested)
    assert error.value.message == "iam:GenerateCredentialReport failed: AccessDenied: not allowed"
    assert slept == []
    stubber.assert_no_pending_responses()  # no second GenerateCredentialReport, no GetCredentialReport


def test_read_credential_report_gives_up(slept: list[float]) -> None:
    client, stubber = stubbed_report_client(["STARTED", "INPROGRESS", "INPROGRESS", "INPROGRESS"])
    with pytest.raises(AwsError) as error:
        read_credential_report(client)
    assert error.value.message == "the IAM credential report is still being generated"
    assert slept == list(CREDENTIAL_REPORT_POLL_DELAYS)
    stubber.assert_no_pending_responses()  # no GetCredentialReport


class FakeListing:
    """read_credential_report's ``listing_done`` against a PollClock: the listing ends ``lasts`` seconds after the
    request; a wait advances the clock, up to the listing's end at most."""

    def __init__(self, clock: PollClock, lasts: float) -> None:
        self.clock = clock
        self.ends_at = clock.now + lasts

    def is_set(self) -> bool:
        return self.clock.now >= self.ends_at

    def wait(self, timeout: float) -> bool:
        self.clock.now = min(self.clock.now + timeout, max(self.clock.now, self.ends_at))
        return self.is_set()


def polled_at(client: t.Any, clock: PollClock) -> list[float]:
    """The times (seconds after 1000.0, the request) of each GenerateCredentialReport the client makes from now."""
    times: list[float] = []
    client.meta.events.register(
        "provide-client-params.iam.GenerateCredentialReport",
        lambda **_kwargs: times.append(round(clock.now - 1000.0, 6)),
    )
    return times


@pytest.mark.parametrize(
    ("lasts", "states", "polls"),
    [
        # The listing outlasts the schedule: polls go on, each gap twice the last, and one more when it ends.
        (10.0, ["STARTED", *["INPROGRESS"] * 4, "COMPLETE"], [0.5, 1.5, 3.5, 7.5, 10]),
        # Ready during the listing: downloaded then, not after it.
        (10.0, ["STARTED", "INPROGRESS", "COMPLETE"], [0.5, 1.5]),
        # The listing ends first: the rest of the schedule, as without a listing.
        (2.0, ["STARTED", "INPROGRESS", "INPROGRESS", "COMPLETE"], [0.5, 1.5, 3.5]),
        (0.2, ["STARTED", "COMPLETE"], [0.5]),
    ],
)
def test_read_credential_report_polls_while_the_keys_are_listed(
    lasts: float, states: list[str], polls: list[float], poll_clock: PollClock
) -> None:
    client, stubber = stubbed_report_client(states)
    requested = request_credential_report(client)
    times = polled_at(client, poll_clock)
    report = read_credential_report(client, requested, FakeListing(poll_clock, lasts))
    assert report == CredentialReport(EXPECTED_ROWS, GENERATED)
    assert times == polls
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(("lasts", "polls"), [(10.0, [0.5, 1.5, 3.5, 7.5, 10]), (2.0, [0.5, 1.5, 3.5])])
def test_read_credential_report_gives_up_once_polled_after_the_listing(
    lasts: float, polls: list[float], poll_clock: PollClock
) -> None:
    client, stubber = stubbed_report_client(["STARTED"] + ["INPROGRESS"] * len(polls))
    requested = request_credential_report(client)
    times = polled_at(client, poll_clock)
    with pytest.raises(AwsError, match="the IAM credential report is still being generated"):
        read_credential_report(client, requested, FakeListing(poll_clock, lasts))
    assert times == polls
    stubber.assert_no_pending_responses()


def test_fetch_downloads_the_report_beside_the_listing(
    client: t.Any, calls: list[str], reader: t.Any, poll_clock: PollClock
) -> None:
    reader.create_user(UserName="alice")
    reader.create_access_key(UserName="alice")
    fetch = CredentialReportFetch(client)
    report = fetch.result()  # moto says STARTED, then COMPLETE at the first poll, 0.5 s after the request
    assert [row["user"] for row in report.rows] == ["alice"]
    assert calls == ["GenerateCredentialReport", "GenerateCredentialReport", "GetCredentialReport"]


def test_fetch_raises_its_error_in_the_caller(client: t.Any, calls: list[str]) -> None:
    def refuse(**_kwargs: t.Any) -> None:
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "GenerateCredentialReport"
        )

    client.meta.events.register("before-call.iam.GenerateCredentialReport", refuse)
    with pytest.raises(AwsError, match="iam:GenerateCredentialReport failed: AccessDenied: not allowed"):
        CredentialReportFetch(client).result()


def test_a_cancelled_fetch_makes_no_further_call(client: t.Any, calls: list[str]) -> None:
    fetch = CredentialReportFetch(client)
    fetch.cancel()
    fetch._thread.join(timeout=5)
    assert not fetch._thread.is_alive()
    # At most the request that was in flight: no poll, no download.
    assert calls in ([], ["GenerateCredentialReport"])


# =============================================================================================
# Against moto's in-process IAM
# =============================================================================================


@pytest.fixture
def mocked_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> t.Iterator[None]:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    (tmp_path / "aws-config").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield


@pytest.fixture(scope="module")
def shared_session(tmp_path_factory: pytest.TempPathFactory) -> botocore.session.Session:
    """One botocore session for the module: creating clients from it is cheap."""
    empty = tmp_path_factory.mktemp("aws") / "empty"
    empty.write_text("")
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("AWS_"):
                patch.delenv(name)
        patch.setenv("AWS_CONFIG_FILE", str(empty))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
        session = botocore.session.Session()
        session.get_scoped_config()
    session.set_credentials("testing", "testing")
    return session


@pytest.fixture
def client(mocked_aws: None, shared_session: botocore.session.Session) -> t.Any:
    """The client the code under test uses, with the collection's client options."""
    kwargs = connection_kwargs({"region": "us-east-1"})
    return shared_session.create_client(
        "iam", region_name="us-east-1", config=botocore.config.Config(**kwargs["config"])
    )


@pytest.fixture
def calls(client: t.Any) -> list[str]:
    """Operation names of every call ``client`` makes."""
    log: list[str] = []

    def record(model: t.Any, **_kwargs: t.Any) -> None:
        log.append(model.name)

    client.meta.events.register("before-call.iam", record)
    return log


@pytest.fixture
def reader(mocked_aws: None, shared_session: botocore.session.Session) -> t.Any:
    """A separate boto3 client to arrange and read back IAM (not counted)."""
    return boto3.session.Session(botocore_session=shared_session).client("iam", region_name="us-east-1")


def use_key(shared_session: botocore.session.Session, created: dict[str, t.Any]) -> None:
    """Make a call signed with the key itself, so that IAM (moto) records its last use."""
    as_key = shared_session.create_client(
        "iam",
        region_name="us-east-1",
        aws_access_key_id=created["AccessKeyId"],
        aws_secret_access_key=created["SecretAccessKey"],
    )
    as_key.list_account_aliases()


def expected_from_iam(reader: t.Any, user_names: list[str], exact: bool) -> list[dict[str, t.Any]]:
    """The report entries (without age fields) built from what boto3 reads from IAM.

    ``exact=False``: last use as the credential report has it (dates to the second, moto gives no service/region).
    """
    entries = []
    for name in sorted(user_names):
        tags = {tag["Key"]: tag["Value"] for tag in reader.list_user_tags(UserName=name)["Tags"]}
        for item in sorted(
            reader.list_access_keys(UserName=name)["AccessKeyMetadata"],
            key=lambda i: (i["CreateDate"], i["AccessKeyId"]),
        ):
            used = reader.get_access_key_last_used(AccessKeyId=item["AccessKeyId"])["AccessKeyLastUsed"]
            date = used.get("LastUsedDate")
            if date is not None and not exact:
                date = date.replace(microsecond=0)
            entries.append(
                {
                    "access_key_id": item["AccessKeyId"],
                    "user_name": name,
                    "status": item["Status"],
                    "create_date": item["CreateDate"].astimezone(UTC).isoformat(),
                    "description": tags.get(item["AccessKeyId"]),
                    "last_used_date": date.astimezone(UTC).isoformat() if date else None,
                    "last_used_service": used.get("ServiceName") if exact and date else None,
                    "last_used_region": used.get("Region") if exact and date else None,
                }
            )
    return entries


def without_ages(entries: list[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
    return [
        {name: value for name, value in entry.items() if name not in ("age_days", "days_since_last_used")}
        for entry in entries
    ]


def test_one_user_calls(
    client: t.Any, calls: list[str], reader: t.Any, shared_session: botocore.session.Session
) -> None:
    reader.create_user(UserName="empty")
    assert report_access_keys({"user_name": "empty"}, client=client) == {
        "changed": False,
        "access_keys": [],
        "count": 0,
        "filters": {"user_name": "empty"},
    }
    assert calls == ["ListAccessKeys"]
    assert len(calls) <= 2 + 0

    reader.create_user(UserName="alice")
    first = reader.create_access_key(UserName="alice")["AccessKey"]
    reader.tag_user(UserName="alice", Tags=[{"Key": first["AccessKeyId"], "Value": "ci pipeline"}])
    use_key(shared_session, first)
    calls.clear()
    one = report_access_keys({"user_name": "alice"}, client=client)
    assert len(calls) <= 2 + 1
    assert sorted(calls) == ["GetAccessKeyLastUsed", "ListAccessKeys", "ListUserTags"]
    assert without_ages(one["access_keys"]) == expected_from_iam(reader, ["alice"], exact=True)
    assert one["access_keys"][0]["last_used_service"] == "iam"
    assert one["access_keys"][0]["description"] == "ci pipeline"

    second = reader.create_access_key(UserName="alice")["AccessKey"]
    reader.update_access_key(UserName="alice", AccessKeyId=second["AccessKeyId"], Status="Inactive")
    calls.clear()
    two = report_access_keys({"user_name": "alice"}, client=client)
    assert len(calls) <= 2 + 2
    assert sorted(calls) == ["GetAccessKeyLastUsed", "GetAccessKeyLastUsed", "ListAccessKeys", "ListUserTags"]
    assert without_ages(two["access_keys"]) == expected_from_iam(reader, ["alice"], exact=True)
    assert [entry["access_key_id"] for entry in two["access_keys"]] == [first["AccessKeyId"], second["AccessKeyId"]]
    assert two["access_keys"][1]["last_used_date"] is None
    assert two["access_keys"][1]["status"] == "Inactive"

    calls.clear()
    bare = report_access_keys({"user_name": "alice", "include_last_used": False}, client=client)
    assert sorted(calls) == ["ListAccessKeys", "ListUserTags"]
    assert [entry["access_key_id"] for entry in bare["access_keys"]] == [first["AccessKeyId"], second["AccessKeyId"]]
    assert not set(LAST_USE_FIELDS) & set(bare["access_keys"][0])


def test_owner_lookup_by_id(client: t.Any, calls: list[str], reader: t.Any) -> None:
    reader.create_user(UserName="alice")
    reader.create_user(UserName="bob")
    reader.create_access_key(UserName="bob")
    wanted = reader.create_access_key(UserName="bob")["AccessKey"]["AccessKeyId"]
    reader.create_access_key(UserName="alice")
    result = report_access_keys({"id": wanted}, client=client)
    assert len(calls) <= 3
    assert calls[0] == "GetAccessKeyLastUsed"
    bob = {entry["access_key_id"]: entry for entry in expected_from_iam(reader, ["bob"], exact=True)}
    assert without_ages(result["access_keys"]) == [bob[wanted]]
    assert result["filters"] == {"access_key_id": wanted}
    assert result["count"] == 1

    # with the right owner named as well
    assert report_access_keys({"id": wanted, "user_name": "bob"}, client=client)["access_keys"] == result["access_keys"]


def test_unknown_user_and_unknown_id(client: t.Any, calls: list[str], reader: t.Any) -> None:
    reader.create_user(UserName="alice")
    alices = reader.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    with pytest.raises(botocore.exceptions.ClientError):
        reader.get_user(UserName="ghost")  # IAM really has no such user
    with pytest.raises(AwsError) as missing_user:
        report_access_keys({"user_name": "ghost"}, client=client)
    assert missing_user.value.message == "IAM user ghost does not exist"
    assert calls == ["ListAccessKeys"]

    calls.clear()
    with pytest.raises(AwsError) as missing_key:
        report_access_keys({"id": UNKNOWN_ID}, client=client)
    assert missing_key.value.message == f"access key {UNKNOWN_ID} does not exist"
    assert calls == ["GetAccessKeyLastUsed"]

    with pytest.raises(AwsError) as wrong_owner:
        report_access_keys({"id": alices, "user_name": "bob"}, client=client)
    assert wrong_owner.value.message == f"access key {alices} belongs to user alice, not bob"

    with pytest.raises(AwsError) as invalid:  # rejected before any call
        calls.clear()
        report_access_keys({"user_name": "not valid"}, client=client)
    assert "is not a valid IAM user name" in invalid.value.message
    assert calls == []


@pytest.mark.parametrize(
    ("aws_config", "mode", "attempts"),
    [
        (None, "adaptive", 10),  # reports: adaptive retries, 10 attempts
        ({"retries": {"mode": "standard"}}, "standard", 10),
        ({"retries": {"mode": "legacy", "total_max_attempts": 3}}, "legacy", 3),
    ],
)
def test_report_client_retries_adaptively_unless_told_otherwise(
    mocked_aws: None, aws_config: dict | None, mode: str, attempts: int
) -> None:
    clients: dict[str, t.Any] = {}

    def factory(service: str, **kwargs: t.Any) -> t.Any:
        clients[service] = aws_client(service, **kwargs)
        return clients[service]

    params = {"region": "us-east-1", "aws_config": aws_config}
    assert _report_task.run(validated(_report_task, params), False, False, factory)["count"] == 0
    retries = clients["iam"].meta.config.retries
    assert (retries["mode"], retries["total_max_attempts"]) == (mode, attempts)
    # The key task, which changes IAM, keeps standard mode and 5 attempts unless told otherwise.
    if aws_config is None:
        boto3.client("iam", region_name="us-east-1").create_user(UserName="nobody")
        result = _key_task.run(
            validated(_key_task, {"user_name": "nobody", "state": "absent", **params}), False, False, factory
        )
        assert result["changed"] is False
        assert (
            clients["iam"].meta.config.retries["mode"],
            clients["iam"].meta.config.retries["total_max_attempts"],
        ) == (
            "standard",
            5,
        )


def test_account_without_keys(client: t.Any, calls: list[str], reader: t.Any, slept: list[float]) -> None:
    # The credential report is read even with no key to place: its root row is where a root key shows (in real IAM).
    empty = report_access_keys({}, client=client)
    assert {name: value for name, value in empty.items() if name != "credential_report_generated_at"} == {
        "changed": False,
        "access_keys": [],
        "count": 0,
    }
    assert empty["credential_report_generated_at"] == reader.get_credential_report()["GeneratedTime"].isoformat()
    assert calls[0] == "GetAccountAuthorizationDetails"
    assert set(calls[1:-1]) == {"GenerateCredentialReport"}  # requested, then polled until IAM has it
    assert calls[-1] == "GetCredentialReport"

    for name in ("alice", "bob"):
        reader.create_user(UserName=name)
    calls.clear()
    assert report_access_keys({"include_last_used": False}, client=client) == {
        "changed": False,
        "access_keys": [],
        "count": 0,
    }
    assert calls == ["GetAccountAuthorizationDetails", "ListAccessKeys", "ListAccessKeys"]  # no report asked for
    assert reader.list_users()["Users"]  # the users are there; they just have no keys


def make_account(reader: t.Any, shared_session: botocore.session.Session, count: int) -> list[str]:
    """``count`` users with 2 keys each, the two created 2 days apart (so in different seconds); every third
    user under /svc/; key 1 of even users described; key 2 of every third user Inactive; half the keys used."""
    start = datetime.datetime.now(UTC).replace(microsecond=0) - datetime.timedelta(days=30)
    names = [f"user-{number:03d}" for number in range(count)]
    created: dict[str, list[dict[str, t.Any]]] = {}
    with freeze_time(start) as frozen:
        for number, name in enumerate(names):
            reader.create_user(UserName=name, Path="/svc/" if number % 3 == 0 else "/")
            created[name] = [reader.create_access_key(UserName=name)["AccessKey"]]
            if number % 2 == 0:
                reader.tag_user(
                    UserName=name, Tags=[{"Key": created[name][0]["AccessKeyId"], "Value": f"team {number}"}]
                )
        frozen.tick(datetime.timedelta(days=2))
        for number, name in enumerate(names):
            created[name].append(reader.create_access_key(UserName=name)["AccessKey"])
            if number % 3 == 0:
                reader.update_access_key(UserName=name, AccessKeyId=created[name][1]["AccessKeyId"], Status="Inactive")
        frozen.tick(datetime.timedelta(days=3))
        for number, name in enumerate(names):
            pattern = number % 4  # 0: both keys used, 1: key 1, 2: key 2, 3: none
            for index in {0: (0, 1), 1: (0,), 2: (1,), 3: ()}[pattern]:
                use_key(shared_session, created[name][index])
    return names


def test_whole_account_report_is_fetched_while_the_keys_are_listed(
    client: t.Any,
    calls: list[str],
    reader: t.Any,
    shared_session: botocore.session.Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = make_account(reader, shared_session, 3)
    poll_clock = install_poll_clock(monkeypatch)
    requested = threading.Event()

    def listing_takes_a_while(**_kwargs: t.Any) -> None:
        requested.wait(5)  # the request goes out first, at 1000.0: what the test is about is the polling after it
        poll_clock.now += 0.2

    client.meta.events.register("before-call.iam.GenerateCredentialReport", lambda **_kwargs: requested.set())
    client.meta.events.register("before-call.iam.ListAccessKeys", listing_takes_a_while)
    result = report_access_keys({"max_workers": 1}, client=client)
    # The request goes out beside the listing, on its own thread; moto answers STARTED to it, like IAM without a
    # recent report. The first poll is due 0.5 s after the request, which the listing (0.6 s) has passed when it
    # ends: no wait after the listing.
    assert [call for call in calls if call != "ListAccessKeys"] == [
        "GetAccountAuthorizationDetails",
        "GenerateCredentialReport",
        "GenerateCredentialReport",
        "GetCredentialReport",
    ]
    assert calls.count("ListAccessKeys") == 3
    assert poll_clock.slept == []
    assert without_ages(result["access_keys"]) == expected_from_iam(reader, names, exact=False)


@pytest.mark.parametrize("users", [1, 40])
def test_whole_account_budget(
    client: t.Any, calls: list[str], reader: t.Any, shared_session: botocore.session.Session, users: int
) -> None:
    names = make_account(reader, shared_session, users)
    reader.generate_credential_report()  # an existing report: no polling wait here (polling is tested above)
    result = report_access_keys({}, client=client)
    assert len(calls) <= users + math.ceil(users / 100) + 5
    assert calls.count("ListAccessKeys") == users
    assert calls.count("GetAccessKeyLastUsed") == 0  # every key placed by the credential report
    assert calls.count("GetCredentialReport") == 1
    assert without_ages(result["access_keys"]) == expected_from_iam(reader, names, exact=False)
    assert result["count"] == 2 * users
    assert "filters" not in result
    ages = {entry["age_days"] for entry in result["access_keys"]}
    assert ages == ({30, 28} if users > 0 else set())
    used = [entry for entry in result["access_keys"] if entry["last_used_date"] is not None]
    assert len(used) == sum(2 if n % 4 == 0 else 1 if n % 4 in (1, 2) else 0 for n in range(users))
    assert {entry["days_since_last_used"] for entry in used} == {25}


def test_whole_account_exact_and_path_prefix(
    client: t.Any, calls: list[str], reader: t.Any, shared_session: botocore.session.Session
) -> None:
    names = make_account(reader, shared_session, 12)
    exact = report_access_keys({"exact_last_used": True}, client=client)
    assert without_ages(exact["access_keys"]) == expected_from_iam(reader, names, exact=True)
    assert {entry["last_used_service"] for entry in exact["access_keys"] if entry["last_used_date"]} == {"iam"}
    assert "GenerateCredentialReport" not in calls and "GetCredentialReport" not in calls
    assert calls.count("GetAccessKeyLastUsed") == 24
    assert calls.count("ListAccessKeys") == 12

    calls.clear()
    svc = [user["UserName"] for user in reader.list_users(PathPrefix="/svc/")["Users"]]
    assert len(svc) == 4
    under = report_access_keys({"path_prefix": "/svc/", "exact_last_used": True}, client=client)
    assert without_ages(under["access_keys"]) == expected_from_iam(reader, svc, exact=True)
    assert calls.count("ListAccessKeys") == len(svc)
    assert under["filters"] == {"path_prefix": "/svc/"}

    calls.clear()
    bare = report_access_keys({"include_last_used": False}, client=client)
    assert sorted(set(calls)) == ["GetAccountAuthorizationDetails", "ListAccessKeys"]
    assert [entry["access_key_id"] for entry in bare["access_keys"]] == [
        entry["access_key_id"] for entry in exact["access_keys"]
    ]


def test_exact_last_used_without_last_use_is_said_to_have_no_effect(
    client: t.Any, calls: list[str], reader: t.Any, shared_session: botocore.session.Session
) -> None:
    names = make_account(reader, shared_session, 2)
    result = report_access_keys({"include_last_used": False, "exact_last_used": True}, client=client)
    assert result["warnings"] == [
        "exact_last_used has no effect with include_last_used=false: no last use is looked up"
    ]
    assert "GetAccessKeyLastUsed" not in calls
    in_iam = sorted(
        key["AccessKeyId"] for name in names for key in reader.list_access_keys(UserName=name)["AccessKeyMetadata"]
    )
    assert sorted(entry["access_key_id"] for entry in result["access_keys"]) == in_iam
    assert "warnings" not in report_access_keys({"exact_last_used": True}, client=client)


def test_whole_account_keys_created_in_the_same_second_are_looked_up(
    client: t.Any, calls: list[str], reader: t.Any, shared_session: botocore.session.Session
) -> None:
    with freeze_time("2026-01-10 10:00:00.100") as frozen:
        reader.create_user(UserName="twins")
        first = reader.create_access_key(UserName="twins")["AccessKey"]
        frozen.tick(datetime.timedelta(milliseconds=700))  # same second, later
        second = reader.create_access_key(UserName="twins")["AccessKey"]
        reader.create_user(UserName="single")
        reader.create_access_key(UserName="single")
    with freeze_time("2026-01-20 10:00:00"):
        use_key(shared_session, second)
    reader.generate_credential_report()
    result = report_access_keys({}, client=client)
    assert calls.count("GetAccessKeyLastUsed") == 2
    # the single key from the report (no service/region in moto's), the twins looked up exactly
    expected = expected_from_iam(reader, ["single"], exact=False) + expected_from_iam(reader, ["twins"], exact=True)
    assert without_ages(result["access_keys"]) == expected
    twins = {entry["access_key_id"]: entry for entry in result["access_keys"] if entry["user_name"] == "twins"}
    # looked up exactly: service and region are known, which moto's credential report does not give
    assert twins[second["AccessKeyId"]]["last_used_service"] == "iam"
    assert twins[first["AccessKeyId"]]["last_used_date"] is None


def test_whole_account_report_unavailable_falls_back(
    client: t.Any, calls: list[str], reader: t.Any, shared_session: botocore.session.Session
) -> None:
    names = make_account(reader, shared_session, 3)

    def refuse(**_kwargs: t.Any) -> None:
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "GenerateCredentialReport"
        )

    client.meta.events.register("before-call.iam.GenerateCredentialReport", refuse)
    result = report_access_keys({}, client=client)
    assert result["warnings"] == [
        "credential report unavailable (iam:GenerateCredentialReport failed: AccessDenied: not allowed); "
        "looked up each key's last use instead; root user's keys not checked"
    ]
    assert calls.count("GetAccessKeyLastUsed") == 6
    assert without_ages(result["access_keys"]) == expected_from_iam(reader, names, exact=True)


def test_read_credential_report_against_moto(
    client: t.Any, calls: list[str], reader: t.Any, slept: list[float]
) -> None:
    reader.create_user(UserName="alice")
    created = reader.create_access_key(UserName="alice")["AccessKey"]
    report = read_credential_report(client)
    rows = report.rows
    assert slept == [0.5]  # moto answers STARTED first, like IAM without a recent report
    assert calls == ["GenerateCredentialReport", "GenerateCredentialReport", "GetCredentialReport"]
    assert [row["user"] for row in rows] == ["alice"]
    rotated = datetime.datetime.fromisoformat(rows[0]["access_key_1_last_rotated"])
    assert rotated == created["CreateDate"].replace(microsecond=0)


# =============================================================================================
# The credential report as real IAM writes it (issue 14): AWS's documented column set and value forms
# =============================================================================================

REAL_COLUMNS = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,"
    "mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,"
    "access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,"
    "access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
)
NO_KEY = "false,N/A,N/A,N/A,N/A"
NO_CERTS = "false,N/A,false,N/A"
REAL_GENERATED = at(2026, 2, 28, 10, 0, 0)  # the report is from 26 hours before NOW


def real_row(user: str, password: str, slot_1: str, slot_2: str = NO_KEY) -> str:
    arn = "arn:aws:iam::123456789012:root" if user == "<root_account>" else f"arn:aws:iam::123456789012:user/{user}"
    return f"{user},{arn},2024-05-06T07:08:09+00:00,{password},true,{slot_1},{slot_2},{NO_CERTS}"


REAL_REPORT = "\n".join(
    [
        REAL_COLUMNS,
        # the root user: no password columns for it, no keys (as CIS 1.4 wants)
        real_row("<root_account>", "not_supported,2026-02-27T08:00:00+00:00,not_supported,not_supported", NO_KEY),
        # two Active keys, both used, with the service and region real IAM gives
        real_row(
            "alice",
            "true,2026-02-27T18:00:00+00:00,2025-12-01T00:00:00+00:00,N/A",
            "true,2025-01-10T08:00:00+00:00,2026-02-27T10:11:00+00:00,eu-west-1,s3",
            "true,2025-06-01T09:30:15+00:00,2026-02-28T09:00:00+00:00,us-east-1,sts",
        ),
        # one key, never used; a console password never used either
        real_row(
            "bob", "true,no_information,2025-01-01T00:00:00+00:00,N/A", "true,2025-10-01T12:00:00+00:00,N/A,N/A,N/A"
        ),
        # an Active key and an Inactive one, the latter without a rotation date, as AWS documents the column
        real_row(
            "carol",
            "false,N/A,N/A,N/A",
            "true,2025-03-03T03:03:03+00:00,2026-02-20T00:00:00+00:00,us-west-2,ec2",
            "false,N/A,2025-09-09T09:09:00+00:00,eu-central-1,iam",
        ),
        # an Inactive key with its rotation date, as real reports also show it
        real_row("dave", "false,N/A,N/A,N/A", "false,2025-04-04T04:04:04+00:00,2025-05-05T05:05:00+00:00,us-east-1,s3"),
        # rotated after the report: the slot still holds the old, since deleted key
        real_row(
            "erin", "false,N/A,N/A,N/A", "true,2025-01-01T00:00:00+00:00,2026-02-28T08:00:00+00:00,us-east-1,lambda"
        ),
    ]
)


@pytest.fixture
def real_report() -> CredentialReport:
    client, stubber = stubbed_report_client(["COMPLETE"], REAL_REPORT.encode())
    report = read_credential_report(client)
    stubber.assert_no_pending_responses()
    return dataclasses.replace(report, generated_at=REAL_GENERATED)


REAL_KEYS = {
    "alice-1": key(KEY_A, "alice", at(2025, 1, 10, 8, 0, 0)),
    "alice-2": key(KEY_B, "alice", at(2025, 6, 1, 9, 30, 15)),
    "bob": key("AKIABOBBBBBBBBBBBBB1", "bob", at(2025, 10, 1, 12, 0, 0)),
    "carol-active": key("AKIACAROLCCCCCCCCCC1", "carol", at(2025, 3, 3, 3, 3, 3)),
    "carol-inactive": key("AKIACAROLCCCCCCCCCC2", "carol", at(2025, 8, 8, 8, 8, 8), status="Inactive"),
    "dave": key("AKIADAVEDDDDDDDDDDD1", "dave", at(2025, 4, 4, 4, 4, 4), status="Inactive"),
    "erin-new": key("AKIAERINEEEEEEEEEEE2", "erin", at(2026, 2, 28, 11, 0, 0)),  # created after the report
    "frank": key("AKIAFRANKFFFFFFFFFF1", "frank", at(2026, 2, 28, 12, 0, 0)),  # user created after the report
}


def test_real_report_is_read_whole(real_report: CredentialReport) -> None:
    assert [row["user"] for row in real_report.rows] == ["<root_account>", "alice", "bob", "carol", "dave", "erin"]
    assert all(len(row) == len(REAL_COLUMNS.split(",")) for row in real_report.rows)
    root = real_report.rows[0]
    assert (root["password_enabled"], root["access_key_1_active"], root["access_key_1_last_rotated"]) == (
        "not_supported",
        "false",
        "N/A",
    )


def test_real_report_matching(real_report: CredentialReport) -> None:
    matched = match_report(list(REAL_KEYS.values()), real_report)
    by_name = {name: matched.get(item.access_key_id) for name, item in REAL_KEYS.items()}
    assert by_name == {
        "alice-1": LastUse(at(2026, 2, 27, 10, 11, 0), "s3", "eu-west-1"),
        "alice-2": LastUse(at(2026, 2, 28, 9, 0, 0), "sts", "us-east-1"),
        "bob": LastUse(None, None, None),  # placed, never used: no lookup needed
        "carol-active": LastUse(at(2026, 2, 20), "ec2", "us-west-2"),
        # no rotation date, but the key existed when the report was made, and the other slot is her Active key's:
        # the undated slot can only be this key's
        "carol-inactive": LastUse(at(2025, 9, 9, 9, 9, 0), "iam", "eu-central-1"),
        "dave": LastUse(at(2025, 5, 5, 5, 5, 0), "s3", "us-east-1"),
        "erin-new": None,  # created after the report: never the old key's last use; looked up
        "frank": None,  # no row yet; looked up
    }


def test_real_report_never_places_a_key_newer_than_the_report_on_an_undated_slot(
    real_report: CredentialReport,
) -> None:
    # carol's second key created after the report: the undated slot was another key's (since deleted)
    newer = dataclasses.replace(REAL_KEYS["carol-inactive"], create_date=at(2026, 2, 28, 11, 0, 0))
    assert newer.access_key_id not in match_report([REAL_KEYS["carol-active"], newer], real_report)
    # without a generation time (moto's is a fixed date in 2015, not given here), undated slots are never guessed
    unknown = dataclasses.replace(real_report, generated_at=None)
    assert REAL_KEYS["carol-inactive"].access_key_id not in match_report(list(REAL_KEYS.values()), unknown)


def test_real_report_undated_slots_that_disagree_are_left_for_lookups(real_report: CredentialReport) -> None:
    # a user with one Inactive key and two undated slots, one used, one empty: which is the key's is unknown
    row = real_row("gina", "false,N/A,N/A,N/A", "false,N/A,2025-09-09T09:09:00+00:00,eu-central-1,iam", NO_KEY)
    report = CredentialReport(
        real_report.rows + list(csv.DictReader(io.StringIO(REAL_COLUMNS + "\n" + row))), REAL_GENERATED
    )
    gina = key("AKIAGINAGGGGGGGGGGG1", "gina", at(2025, 1, 1), status="Inactive")
    assert gina.access_key_id not in match_report([gina], report)
    # both undated slots empty: the key existed and was never used, whichever slot it is
    never = real_row("hank", "false,N/A,N/A,N/A", NO_KEY, NO_KEY)
    report = CredentialReport(list(csv.DictReader(io.StringIO(REAL_COLUMNS + "\n" + never))), REAL_GENERATED)
    hank = key("AKIAHANKHHHHHHHHHHH1", "hank", at(2025, 1, 1), status="Inactive")
    assert match_report([hank], report) == {hank.access_key_id: LastUse()}


def test_real_report_a_dated_slot_no_key_explains_stops_the_guessing(real_report: CredentialReport) -> None:
    # erin's row has a dated slot of a key since deleted; an Inactive key of hers from before the report is not
    # given the undated slot's (empty) last use: the slots cannot all be accounted for
    old_inactive = key("AKIAERINEEEEEEEEEEE1", "erin", at(2025, 2, 2), status="Inactive")
    assert old_inactive.access_key_id not in match_report([old_inactive], real_report)


def real_format_report(reader: t.Any, generated: datetime.datetime) -> bytes:
    """The credential report real IAM would write for moto's users and keys: the root row, service and region of the
    last use, and Inactive keys without a rotation date (as AWS documents the column)."""
    lines = [
        REAL_COLUMNS,
        real_row("<root_account>", "not_supported,2026-02-27T08:00:00+00:00,not_supported,not_supported", NO_KEY),
    ]
    for user in reader.list_users()["Users"]:
        slots = []
        items = reader.list_access_keys(UserName=user["UserName"])["AccessKeyMetadata"]
        for item in sorted(items, key=lambda entry: entry["CreateDate"]):
            used = reader.get_access_key_last_used(AccessKeyId=item["AccessKeyId"])["AccessKeyLastUsed"]
            date = used.get("LastUsedDate")
            active = item["Status"] == "Active"
            rotated = item["CreateDate"].astimezone(UTC).replace(microsecond=0).isoformat() if active else "N/A"
            where = (
                f"{date.astimezone(UTC).replace(microsecond=0).isoformat()},us-east-1,iam" if date else "N/A,N/A,N/A"
            )
            slots.append(f"{'true' if active else 'false'},{rotated},{where}")
        slots += [NO_KEY] * (2 - len(slots))
        lines.append(real_row(user["UserName"], "false,N/A,N/A,N/A", *slots))
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize("users", [1, 40])
def test_whole_account_budget_against_a_real_format_report(
    client: t.Any, calls: list[str], reader: t.Any, shared_session: botocore.session.Session, users: int
) -> None:
    names = make_account(reader, shared_session, users)
    reader.generate_credential_report()
    generated = datetime.datetime.now(UTC).replace(microsecond=0)
    content = real_format_report(reader, generated)

    def real_iam_answer(**_kwargs: t.Any) -> tuple[t.Any, dict[str, t.Any]]:
        http = botocore.awsrequest.AWSResponse("https://iam.amazonaws.com/", 200, {}, None)
        return http, {"Content": content, "ReportFormat": "text/csv", "GeneratedTime": generated}

    client.meta.events.register("before-call.iam.GetCredentialReport", real_iam_answer)
    result = report_access_keys({}, client=client)
    assert len(calls) <= users + math.ceil(users / 100) + 5
    assert calls.count("GetAccessKeyLastUsed") == 0  # every key placed, the Inactive ones without a rotation date too
    assert result["credential_report_generated_at"] == generated.isoformat()
    expected = expected_from_iam(reader, names, exact=True)
    for entry in expected:  # the report has whole seconds; real IAM's service and region, as the exact lookup has
        if entry["last_used_date"]:
            entry["last_used_date"] = (
                datetime.datetime.fromisoformat(entry["last_used_date"]).replace(microsecond=0).isoformat()
            )
    assert without_ages(result["access_keys"]) == expected
    assert sum(entry["status"] == "Inactive" for entry in result["access_keys"]) == math.ceil(users / 3)


def test_whole_account_result_says_how_old_moto_report_is(
    client: t.Any, calls: list[str], reader: t.Any, shared_session: botocore.session.Session
) -> None:
    make_account(reader, shared_session, 2)
    reader.generate_credential_report()
    result = report_access_keys({}, client=client)
    generated = reader.get_credential_report()["GeneratedTime"]
    assert result["credential_report_generated_at"] == generated.astimezone(UTC).isoformat()
    assert "credential_report_generated_at" not in report_access_keys({"exact_last_used": True}, client=client)


ROOT_WITH_A_KEY = real_row(
    "<root_account>",
    "not_supported,2026-02-27T08:00:00+00:00,not_supported,not_supported",
    "true,2019-03-04T05:06:07+00:00,2026-02-20T10:00:00+00:00,us-east-1,ec2",
)


@pytest.mark.parametrize(
    ("users", "options"),
    [
        ([], {"include_findings": True}),  # an account run through SSO only: no IAM user at all
        (["alice", "bob"], {"include_findings": True}),  # users, none of them with a key
        (["alice"], {"include_findings": True, "exact_last_used": True}),  # last use asked of each key
        (["alice"], {}),  # no findings asked for: the report is read for last use, and its root row returned
    ],
)
def test_root_key_is_reported_in_an_account_whose_users_have_no_keys(
    client: t.Any, calls: list[str], reader: t.Any, slept: list[float], users: list[str], options: dict[str, t.Any]
) -> None:
    """CIS 1.4 (a root access key) is most often found in accounts without IAM keys at all: the credential
    report is read there too, for its <root_account> row (real IAM's format; moto's report has no such row)."""
    for name in users:
        reader.create_user(UserName=name)
    content = f"{REAL_COLUMNS}\n{ROOT_WITH_A_KEY}\n".encode()

    def real_iam_answer(**_kwargs: t.Any) -> tuple[t.Any, dict[str, t.Any]]:
        http = botocore.awsrequest.AWSResponse("https://iam.amazonaws.com/", 200, {}, None)
        return http, {"Content": content, "ReportFormat": "text/csv", "GeneratedTime": REAL_GENERATED}

    client.meta.events.register("before-call.iam.GetCredentialReport", real_iam_answer)
    result = report_access_keys(options, client=client)
    assert result["access_keys"] == []
    assert result["root_account"]["access_key_1_active"] is True
    assert [finding["cis_control"] for finding in result["root_account"]["findings"]] == ["1.4"]
    assert "GenerateCredentialReport" in calls  # the download itself is answered by real_iam_answer, uncounted
    assert "GetAccessKeyLastUsed" not in calls
    assert all(not reader.list_access_keys(UserName=name)["AccessKeyMetadata"] for name in users)  # IAM unchanged


def test_an_unreadable_credential_report_says_the_root_user_went_unchecked(
    client: t.Any, calls: list[str], reader: t.Any
) -> None:
    reader.create_user(UserName="alice")

    def denied(**_kwargs: t.Any) -> None:
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "not authorized to perform iam:GenerateCredentialReport"}},
            "GenerateCredentialReport",
        )

    client.meta.events.register("before-call.iam.GenerateCredentialReport", denied)
    result = report_access_keys({"include_findings": True}, client=client)
    assert result["access_keys"] == []
    assert "root_account" not in result
    assert len(result["warnings"]) == 1
    assert "credential report unavailable" in result["warnings"][0]
    assert result["warnings"][0].endswith("root user's keys not checked")
    assert reader.list_users()["Users"][0]["UserName"] == "alice"
