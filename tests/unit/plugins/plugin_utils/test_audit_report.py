# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The organization audit report: gathering module results (_audit_report.py), CSV and HTML (_audit_report_render.py)
and the filters that expose them. The integration test test_organization.py checks the report against IAM."""

from __future__ import annotations

import csv
import datetime
import html.parser
import io
import re
import typing as t

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.keyguard.aws.plugins.filter.access_key_audit_csv import access_key_audit_csv
from ansible_collections.keyguard.aws.plugins.filter.access_key_audit_html import access_key_audit_html
from ansible_collections.keyguard.aws.plugins.filter.access_key_audit_report import (
    FilterModule,
    access_key_audit_report,
)
from ansible_collections.keyguard.aws.plugins.plugin_utils._audit_report import build_audit_report
from ansible_collections.keyguard.aws.plugins.plugin_utils._audit_report_render import render_csv, render_html

UNUSED = {
    "finding": "unused_key",
    "cis_control": "1.12",
    "cis_version": "3.0.0",
    "security_hub_control": "IAM.22",
    "title": "Access key unused",
    "detail": "unused for 50 days",
}
OLD = {
    "finding": "key_too_old",
    "cis_control": "1.14",
    "cis_version": "3.0.0",
    "security_hub_control": "IAM.3",
    "title": "Access key older than 90 days",
    "detail": "120 days old",
}
ROOT = {
    "finding": "root_access_key",
    "cis_control": "1.4",
    "cis_version": "3.0.0",
    "security_hub_control": "IAM.4",
    "title": "Root user has an access key",
    "detail": "access key 1 is active",
}
MOMENT = datetime.datetime(2026, 12, 7, 10, 30, 5, tzinfo=datetime.timezone.utc)


def key(key_id: str, user: str, status: str = "Active", findings: list[dict] | None = None, **extra: t.Any) -> dict:
    return {
        "access_key_id": key_id,
        "user_name": user,
        "status": status,
        "create_date": "2026-08-01T09:15:00+00:00",
        "age_days": 128,
        "last_used_date": extra.pop("last_used_date", None),
        "last_used_service": extra.pop("last_used_service", None),
        "last_used_region": extra.pop("last_used_region", None),
        "days_since_last_used": extra.pop("days_since_last_used", None),
        "findings": findings or [],
        **extra,
    }


def accounts() -> list[dict[str, t.Any]]:
    return [
        {
            "host": "payments",
            "account_id": "111111111111",
            "account_name": "payments",
            "ou_path": ["Root", "Prod"],
            "assume_role_arn": "arn:aws:iam::111111111111:role/Audit",
            "result": {
                "changed": False,
                "access_keys": [
                    key("AKIA1", "alice", findings=[UNUSED, OLD]),
                    key("AKIA2", "bob", status="Inactive", last_used_date="2026-12-01T08:00:00+00:00"),
                ],
                "root_account": {"access_key_1_active": True, "findings": [ROOT]},
                "credential_report_generated_at": "2026-12-07T10:00:00+00:00",
            },
        },
        {
            "host": "Analytics",
            "account_id": "222222222222",
            "account_name": "Analytics",
            "result": {"access_keys": [key("AKIA3", "carol", findings=[UNUSED])], "root_account": None},
        },
        {
            "host": "cards",
            "account_id": "333333333333",
            "result": {"failed": True, "msg": "sts:AssumeRole on arn:aws:iam::333333333333:role/Audit: AccessDenied"},
        },
        {"host": "lost", "result": {"failed": True}},
    ]


def test_report_regroups_keys_findings_and_errors_of_every_account():
    report = build_audit_report(accounts(), 90, 45, generator="unit", generated_at=MOMENT)
    assert report["generated_at"] == "2026-12-07T10:30:05Z"
    assert report["generator"] == "unit"
    assert report["thresholds"] == {"max_key_age_days": 90, "unused_days": 45}
    assert report["totals"] == {
        "accounts": 4,
        "accounts_audited": 2,
        "accounts_failed": 2,
        "keys": 3,
        "active_keys": 2,
        "findings": 4,
    }
    # Sorted by name without regard to case; a host without a name is named by its host.
    assert [account["account_name"] for account in report["accounts"]] == ["Analytics", "cards", "lost", "payments"]
    payments = report["accounts"][3]
    assert payments == {
        "account_id": "111111111111",
        "account_name": "payments",
        "host": "payments",
        "ou_path": ["Root", "Prod"],
        "assume_role_arn": "arn:aws:iam::111111111111:role/Audit",
        "status": "audited",
        "error": None,
        "key_count": 2,
        "active_key_count": 1,
        "finding_count": 3,
        "credential_report_generated_at": "2026-12-07T10:00:00+00:00",
        "root_account": {"access_key_1_active": True, "findings": [ROOT]},
    }
    assert report["keys"][0] == {**key("AKIA1", "alice", findings=[UNUSED, OLD]), "account_id": "111111111111",
                                 "account_name": "payments"}  # fmt: skip
    assert [(f["account_name"], f["user_name"], f["access_key_id"], f["cis_control"]) for f in report["findings"]] == [
        ("payments", "alice", "AKIA1", "1.12"),
        ("payments", "alice", "AKIA1", "1.14"),
        ("payments", "<root_account>", None, "1.4"),
        ("Analytics", "carol", "AKIA3", "1.12"),
    ]
    assert report["findings"][0]["detail"] == "unused for 50 days"
    # One line per control, ordered by its id as text; count of findings and of accounts that have it.
    controls = report["controls"]
    assert [(c["cis_control"], c["security_hub_control"], c["count"], c["account_count"]) for c in controls] == [
        ("1.12", "IAM.22", 2, 2),
        ("1.14", "IAM.3", 1, 1),
        ("1.4", "IAM.4", 1, 1),
    ]  # fmt: skip
    assert report["errors"] == [
        {
            "account_id": "333333333333",
            "account_name": "cards",
            "host": "cards",
            "error": "sts:AssumeRole on arn:aws:iam::333333333333:role/Audit: AccessDenied",
        },
        {"account_id": None, "account_name": "lost", "host": "lost", "error": "the audit task failed"},
    ]
    cards = next(account for account in report["accounts"] if account["host"] == "cards")
    assert (cards["status"], cards["key_count"], cards["ou_path"]) == ("error", 0, [])


def test_report_of_no_accounts_is_empty_and_dated_now():
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    report = build_audit_report([], 90, 45)
    generated = datetime.datetime.strptime(report["generated_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert generated.replace(tzinfo=datetime.timezone.utc) >= before
    assert report["totals"] == dict.fromkeys(("accounts", "accounts_audited", "accounts_failed", "keys"), 0) | {
        "active_keys": 0,
        "findings": 0,
    }
    assert (report["keys"], report["findings"], report["controls"], report["errors"]) == ([], [], [], [])


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (["payments"], "account entry 0 is a str, not a mapping"),
        ([{"host": "payments"}], "account entry 0 (payments) has no registered result under 'result'"),
        ([{"account_name": "cards", "result": "failed"}], "account entry 0 (cards) has no registered result"),
    ],
)
def test_filter_names_the_entry_it_cannot_use(entries, message):
    with pytest.raises(AnsibleFilterError, match="^access_key_audit_report: " + re.escape(message)):
        access_key_audit_report(entries)


def test_filter_passes_the_thresholds_and_is_registered_under_its_name():
    assert FilterModule().filters() == {"access_key_audit_report": access_key_audit_report}
    report = access_key_audit_report(accounts()[:1], max_key_age_days="30", unused_days=10, generator="playbook")
    assert report["thresholds"] == {"max_key_age_days": 30, "unused_days": 10}
    assert report["generator"] == "playbook"
    with pytest.raises(AnsibleFilterError, match="access_key_audit_report: invalid literal"):
        access_key_audit_report([], max_key_age_days="ninety")


def test_csv_has_a_row_per_key_every_cell_quoted_and_formulas_neutralised():
    entries = accounts()[:2]
    entries[1]["result"]["access_keys"].append(key("AKIA4", "=HYPERLINK(1)", findings=[UNUSED, OLD]))
    entries[1]["result"]["access_keys"].append(key("AKIA5", 'ops,"weekly"', last_used_service="s3"))
    text = render_csv(build_audit_report(entries, 90, 45))
    lines = text.splitlines()
    assert lines[0] == ('"account_id","account_name","user_name","access_key_id","status","age_days",'
                        '"last_used_date","last_used_service","last_used_region","findings"')  # fmt: skip
    assert lines[1] == '"111111111111","payments","alice","AKIA1","Active","128","","","","1.12;1.14"'
    assert text.endswith("\n") and "\r" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["access_key_id"] for row in rows] == ["AKIA1", "AKIA2", "AKIA3", "AKIA4", "AKIA5"]
    assert rows[1]["last_used_date"] == "2026-12-01T08:00:00+00:00" and rows[1]["findings"] == ""
    assert rows[3]["user_name"] == "'=HYPERLINK(1)" and rows[3]["findings"] == "1.12;1.14"
    assert rows[4]["user_name"] == 'ops,"weekly"' and rows[4]["last_used_service"] == "s3"


def test_csv_of_a_report_without_keys_is_its_header():
    assert render_csv({"keys": []}).count("\n") == 1
    assert access_key_audit_csv(build_audit_report([], 90, 45)).startswith('"account_id",')
    with pytest.raises(AnsibleFilterError, match="access_key_audit_csv expects a report"):
        access_key_audit_csv([])


class Page(html.parser.HTMLParser):
    """Body rows of each table by id, the summary cards, every tag, and the raw script text."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.tags: set[str] = set()
        self.cards: dict[str, str] = {}
        self.scripts: list[str] = []
        self._table = self._card = None
        self._cells: list[str] | None = None
        self._text: list[str] | None = None
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.add(tag)
        if tag == "table":
            self._table = attributes.get("id")
            self.tables[self._table] = []
        elif tag == "tbody" or (tag == "tr" and self._table):
            self._cells = [] if tag == "tr" else self._cells
        elif tag == "td" and self._cells is not None:
            self._text = []
        elif tag == "div" and (attributes.get("id") or "").startswith("count-"):
            self._card = attributes["id"]
        elif tag == "script":
            self._in_script = True

    def handle_endtag(self, tag):
        if tag == "td" and self._text is not None:
            self._cells.append(" ".join("".join(self._text).split()))
            self._text = None
        elif tag == "tr" and self._cells:
            self.tables[self._table].append(self._cells)
            self._cells = None
        elif tag == "table":
            self._table = None
        elif tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)
        elif self._text is not None:
            self._text.append(data)
        elif self._card and data.strip() and self._card not in self.cards:
            self.cards[self._card] = data.strip()


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    return page


def test_html_shows_totals_summaries_errors_and_every_key():
    text = render_html(build_audit_report(accounts(), 90, 45, generated_at=MOMENT))
    assert text.startswith("<!DOCTYPE html>")
    page = parse(text)
    assert page.cards == {"count-accounts": "2", "count-errors": "2", "count-keys": "3", "count-findings": "4"}
    assert page.tables["errors-table"] == [
        ["333333333333", "cards", "sts:AssumeRole on arn:aws:iam::333333333333:role/Audit: AccessDenied"],
        ["", "lost", "the audit task failed"],
    ]
    assert page.tables["controls-table"] == [
        ["1.12", "IAM.22", "Access key unused", "2", "2"],
        ["1.14", "IAM.3", "Access key older than 90 days", "1", "1"],
        ["1.4", "IAM.4", "Root user has an access key", "1", "1"],
    ]
    assert page.tables["accounts-table"][3] == ["111111111111", "payments", "Root / Prod", "2", "1", "3", "audited"]
    assert page.tables["accounts-table"][1][-1].startswith("error: sts:AssumeRole")
    assert page.tables["root-table"] == [["111111111111", "payments", "1.4 / IAM.4 access key 1 is active"]]
    alice, bob, carol = page.tables["keys-table"]
    assert alice == ["111111111111", "payments", "alice", "AKIA1", "Active", "2026-08-01 09:15", "128", "never", "",
                     "", "\N{EN DASH}", "1.12 / IAM.22 1.14 / IAM.3"]  # fmt: skip
    assert bob[7] == "2026-12-01 08:00" and bob[11] == ""
    assert carol[:4] == ["222222222222", "Analytics", "carol", "AKIA3"]
    assert "Thresholds: keys older than 90 days" in " ".join(text.split())


def test_html_escapes_every_value_and_loads_nothing():
    entries = accounts()[:1]
    hostile = '<img src=x onerror="alert(1)">'
    entries[0]["account_name"] = hostile
    entries[0]["result"]["access_keys"][0]["user_name"] = "</script><script>alert(2)</script>"
    entries[0]["result"]["access_keys"][0]["findings"] = [{**UNUSED, "detail": '"><b>x</b>'}]
    text = access_key_audit_html(build_audit_report(entries, 90, 45))
    page = parse(text)
    assert page.tags.isdisjoint({"img", "b", "link", "iframe", "object"})
    assert len(page.scripts) == 1 and "alert" not in page.scripts[0]
    assert page.tables["keys-table"][0][1] == hostile
    assert page.tables["keys-table"][0][2] == "</script><script>alert(2)</script>"
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in text
    assert "http://" not in text and "https://" not in text
    assert "default-src 'none'" in text
    with pytest.raises(AnsibleFilterError, match="access_key_audit_html expects a report"):
        access_key_audit_html("report")


def test_html_without_keys_findings_or_errors_says_so():
    page_text = render_html(build_audit_report([], 90, 45))
    assert "Every account was audited." in page_text
    assert "No key breaks a control." in page_text
    assert "No access keys in the audited accounts." in page_text
    assert "root-table" not in page_text and '<table id="keys-table"' not in page_text
