# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""keyguard.aws.access_key_audit's helpers (_audit_report_files.py): reading the hosts' results and writing the files.
The integration test test_organization.py runs the action plugin in playbooks/audit_organization.yml."""

from __future__ import annotations

import json
import os
import stat
import typing as t

import pytest

from ansible_collections.keyguard.aws.plugins.plugin_utils._audit_report import build_audit_report
from ansible_collections.keyguard.aws.plugins.plugin_utils._audit_report_files import (
    AuditFilesError,
    gather_accounts,
    parse_mode,
    render_files,
    report_paths,
    write_files,
)
from ansible_collections.keyguard.aws.plugins.plugin_utils._audit_report_render import render_csv, render_html

RESULT = {
    "changed": False,
    "count": 1,
    "access_keys": [{"user_name": "alice", "access_key_id": "AKIAALICE", "status": "Active", "findings": []}],
}
HOSTS = {
    "prod": {
        "audit": RESULT,
        "aws_account_id": "111111111111",
        "aws_account_name": "{{ account_label }}",
        "account_label": "Production",
        "aws_account_ou_path": ["ou-1"],
        "assume_role_arn": "arn:aws:iam::111111111111:role/Audit",
        "unrelated": "{{ never_rendered }}",
    },
    "dev": {"audit": {"failed": True, "msg": "sts:AssumeRole failed: AccessDenied"}, "aws_account_id": "222222222222"},
    "bastion": {"ansible_host": "10.0.0.1"},
}


def render_with(rendered: list[t.Any]) -> t.Callable[[t.Mapping[str, t.Any], t.Any], t.Any]:
    """A stand-in for Ansible's templar: renders ``{{ name }}`` from the host's variables, and records each value."""

    def render(variables: t.Mapping[str, t.Any], value: t.Any) -> t.Any:
        rendered.append(value)
        if isinstance(value, str) and value.startswith("{{"):
            return variables[value.strip("{} ")]
        return value

    return render


def test_gather_takes_results_as_stored_and_renders_only_the_account_variables() -> None:
    rendered: list[t.Any] = []
    accounts, skipped = gather_accounts(["prod", "dev", "bastion"], "audit", HOSTS.get, render_with(rendered))
    assert skipped == ["bastion"]
    assert accounts == [
        {
            "host": "prod",
            "result": RESULT,
            "account_id": "111111111111",
            "account_name": "Production",
            "ou_path": ["ou-1"],
            "assume_role_arn": "arn:aws:iam::111111111111:role/Audit",
        },
        {"host": "dev", "result": HOSTS["dev"]["audit"], "account_id": "222222222222"},
    ]
    assert accounts[0]["result"] is RESULT  # not copied, not rendered
    assert "{{ never_rendered }}" not in rendered
    report = build_audit_report(accounts, 90, 45)
    assert report["totals"]["accounts_failed"] == 1
    assert [account["account_name"] for account in report["accounts"]] == ["dev", "Production"]


@pytest.mark.parametrize(
    ("hosts", "message"),
    [
        (["prod", "nowhere"], "host 'nowhere' is not in the inventory"),
        (["bastion"], "none of the 1 hosts has a variable 'audit'"),
    ],
)
def test_gather_refuses_unknown_hosts_and_a_variable_no_host_has(hosts: list[str], message: str) -> None:
    with pytest.raises(AuditFilesError, match=message):
        gather_accounts(hosts, "audit", HOSTS.get, render_with([]))


def test_gather_refuses_a_result_that_is_not_a_task_result() -> None:
    with pytest.raises(AuditFilesError, match="audit of host 'odd' is a str, not a registered task result"):
        gather_accounts(["odd"], "audit", {"odd": {"audit": "text"}}.get, render_with([]))


@pytest.mark.parametrize(("value", "expected"), [("0640", 0o640), (" 644 ", 0o644), (0o600, 0o600), (0, 0)])
def test_parse_mode_accepts_octal_text_and_numbers(value: t.Any, expected: int) -> None:
    assert parse_mode(value, "mode") == expected


@pytest.mark.parametrize("value", ["rw-r-----", "0980", "", 0o10000, -1, True, None, "u=rw"])
def test_parse_mode_refuses_anything_else(value: t.Any) -> None:
    with pytest.raises(AuditFilesError, match="mode must be a file mode such as '0640'"):
        parse_mode(value, "mode")


def test_render_files_renders_the_requested_formats() -> None:
    report = build_audit_report([{"host": "prod", "account_id": "1", "result": RESULT}], 90, 45)
    texts = render_files(report, ["json", "csv", "html"])
    assert json.loads(texts["json"]) == report
    assert texts["json"].endswith("}\n")
    assert texts["csv"] == render_csv(report)
    assert texts["html"] == render_html(report)
    assert set(render_files(report, ["csv"])) == {"csv"}


def test_write_files_creates_the_folder_and_writes_each_file_with_its_mode(tmp_path) -> None:
    dest = tmp_path / "reports" / "2026-12"
    paths = write_files({"json": "{}\n", "csv": "a,b\n"}, str(dest), 0o640, 0o750)
    assert paths == report_paths(str(dest), ["json", "csv"])
    assert paths == {"json": str(dest / "report.json"), "csv": str(dest / "report.csv")}
    assert (dest / "report.json").read_text(encoding="utf-8") == "{}\n"
    assert (dest / "report.csv").read_text(encoding="utf-8") == "a,b\n"
    assert stat.S_IMODE(os.stat(dest / "report.json").st_mode) == 0o640
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o750 & ~current_umask()
    assert sorted(os.listdir(dest)) == ["report.csv", "report.json"]  # no temporary file left

    write_files({"json": "[]\n"}, str(dest), 0o600, 0o700)  # replaces, keeps the folder as it was
    assert (dest / "report.json").read_text(encoding="utf-8") == "[]\n"
    assert stat.S_IMODE(os.stat(dest / "report.json").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o750 & ~current_umask()


def test_write_files_says_which_path_it_cannot_write(tmp_path) -> None:
    occupied = tmp_path / "report-file"
    occupied.write_text("not a folder", encoding="utf-8")
    with pytest.raises(AuditFilesError, match=r"cannot create the folder .*report-file"):
        write_files({"json": "{}"}, str(occupied), 0o640, 0o750)
    assert occupied.read_text(encoding="utf-8") == "not a folder"

    blocked = tmp_path / "blocked"
    (blocked / "report.json").mkdir(parents=True)  # a folder where the file should go
    with pytest.raises(AuditFilesError, match=r"cannot write .*blocked/report\.json"):
        write_files({"json": "{}"}, str(blocked), 0o640, 0o750)
    assert os.listdir(blocked) == ["report.json"]  # the temporary file was removed


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
