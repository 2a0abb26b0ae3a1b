# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Compliance findings (issue 13), pure: report entries and credential report rows in, findings out."""

from __future__ import annotations

import datetime
import typing as t

import pytest
from unit_tasks import report_request

from ansible_collections.keyguard.aws.plugins.module_utils._findings import key_findings, root_account
from ansible_collections.keyguard.aws.plugins.module_utils._key_report import Collected, build_report
from ansible_collections.keyguard.aws.plugins.module_utils._key_types import AccessKey, LastUse

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 6, 1, tzinfo=UTC)


def entry(age: int, idle: int | None, status: str = "Active", with_last_use: bool = True) -> dict[str, t.Any]:
    """A report entry ``age`` days old, last used ``idle`` days ago (None: never)."""
    result = {"user_name": "alice", "status": status, "age_days": age}
    if with_last_use:
        result["last_used_date"] = None if idle is None else (NOW - datetime.timedelta(days=idle)).isoformat()
        result["days_since_last_used"] = idle
    return result


def ids(findings: list[dict[str, t.Any]]) -> list[tuple[str, str | None]]:
    return [(finding["cis_control"], finding["security_hub_control"]) for finding in findings]


@pytest.mark.parametrize(
    ("report_entry", "active", "expected"),
    [
        pytest.param(entry(10, 1), 1, [], id="young-and-used"),
        pytest.param(entry(44, None), 1, [], id="never-used-younger-than-the-threshold"),
        pytest.param(entry(45, None), 1, [("1.12", "IAM.22")], id="never-used-counts-as-unused-by-creation"),
        pytest.param(entry(60, 45), 1, [("1.12", "IAM.22")], id="unused-45-days"),
        pytest.param(entry(60, 44), 1, [], id="used-44-days-ago"),
        pytest.param(entry(90, 1), 1, [], id="exactly-90-days-is-rotated-enough"),
        pytest.param(entry(91, 1), 1, [("1.14", "IAM.3")], id="older-than-90-days"),
        pytest.param(entry(10, 1), 2, [("1.13", None)], id="two-active-keys"),
        pytest.param(entry(400, None), 2, [("1.12", "IAM.22"), ("1.13", None), ("1.14", "IAM.3")], id="every-finding"),
        pytest.param(entry(400, None, status="Inactive"), 1, [], id="an-inactive-key-has-none"),
        pytest.param(entry(400, None, with_last_use=False), 1, [("1.14", "IAM.3")], id="no-last-use-no-unused-check"),
    ],
)
def test_key_findings(report_entry: dict, active: int, expected: list) -> None:
    findings = key_findings(report_entry, active, unused_days=45, max_age_days=90)
    assert ids(findings) == expected
    assert all(finding["cis_version"] == "3.0.0" and finding["detail"] for finding in findings)


def test_thresholds_are_options() -> None:
    assert ids(key_findings(entry(31, 31), 1, unused_days=30, max_age_days=30)) == [
        ("1.12", "IAM.22"),
        ("1.14", "IAM.3"),
    ]


ROOT_ROW = {
    "user": "<root_account>",
    "arn": "arn:aws:iam::123456789012:root",
    "mfa_active": "true",
    "access_key_1_active": "true",
    "access_key_1_last_rotated": "2019-03-04T10:00:00+00:00",
    "access_key_1_last_used_date": "2026-05-30T08:00:00+00:00",
    "access_key_2_active": "false",
    "access_key_2_last_rotated": "N/A",
    "access_key_2_last_used_date": "N/A",
}


def test_root_account_with_an_active_key() -> None:
    root = root_account(ROOT_ROW)
    assert root["access_key_1_active"] is True and root["access_key_2_active"] is False
    assert root["access_key_1_last_rotated"] == "2019-03-04T10:00:00+00:00"
    assert root["access_key_2_last_used_date"] is None
    assert root["mfa_active"] is True
    assert ids(root["findings"]) == [("1.4", "IAM.4")]


def test_root_account_without_keys_has_no_finding() -> None:
    row = {**ROOT_ROW, "access_key_1_active": "false", "access_key_1_last_rotated": "N/A"}
    assert root_account(row)["findings"] == []


def test_build_report_counts_active_keys_before_filters_and_adds_the_root_row() -> None:
    created = NOW - datetime.timedelta(days=100)
    keys = [
        AccessKey("AKIAAAAAAAAAAAAAAAA1", "alice", "Active", created),
        AccessKey("AKIAAAAAAAAAAAAAAAA2", "alice", "Active", NOW - datetime.timedelta(days=5)),
    ]
    used = {key.access_key_id: LastUse(NOW - datetime.timedelta(days=1), "s3", "eu-west-1") for key in keys}
    collected = Collected(keys, used, NOW, root_account=ROOT_ROW)
    report = build_report(collected, report_request({"include_findings": True, "older_than_days": 30}))
    (old,) = report["access_keys"]  # the filter leaves one key, but the user has two active ones
    assert ids(old["findings"]) == [("1.13", None), ("1.14", "IAM.3")]
    assert ids(report["root_account"]["findings"]) == [("1.4", "IAM.4")]
    plain = build_report(collected, report_request({}))
    assert "findings" not in plain["access_keys"][0]
