# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This plugin_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""Gather whole-account iam_access_key_info results of many accounts into one audit report.

The report is what playbooks/audit_organization.yml writes as report.json (and renders as CSV and HTML). It only
regroups what the module returned: every key with its account, every finding with its account, user and key, a
summary per account and per control, and the accounts that could not be audited. Nothing is recomputed here; the
findings come from the module (module_utils/_findings.py).

This runs on the controller as a filter. Each step is linear in the keys: the Jinja it replaces concatenated lists
in a loop, which grew with the square of the keys and took seconds per thousand keys.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

ROOT_USER_NAME = "<root_account>"
DEFAULT_GENERATOR = "keyguard.aws"
DEFAULT_ERROR = "the audit task failed"


class AuditReportError(ValueError):
    """An account entry the report cannot use (what is wrong is in the message)."""


def _account_identity(entry: Mapping[str, Any]) -> dict[str, Any]:
    host = entry.get("host")
    account_name = entry.get("account_name")
    return {
        "account_id": entry.get("account_id"),
        "account_name": account_name if account_name is not None else host,
    }


def _findings_of(identity: dict[str, Any], result: Mapping[str, Any], keys: list[Mapping[str, Any]]) -> list[dict]:
    found = []
    for key in keys:
        for finding in key.get("findings") or []:
            found.append(
                {**identity, "user_name": key.get("user_name"), "access_key_id": key.get("access_key_id"), **finding}
            )
    for finding in (result.get("root_account") or {}).get("findings") or []:
        found.append({**identity, "user_name": ROOT_USER_NAME, "access_key_id": None, **finding})
    return found


def _controls(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One summary per CIS control, in the order of the control ids (as text, as Jinja's groupby sorted them)."""
    by_control: dict[Any, list[dict[str, Any]]] = {}
    for finding in findings:
        by_control.setdefault(finding.get("cis_control"), []).append(finding)
    controls = []
    for control in sorted(by_control, key=lambda value: "" if value is None else str(value)):
        items = by_control[control]
        first = items[0]
        controls.append(
            {
                "finding": first.get("finding"),
                "cis_control": control,
                "cis_version": first.get("cis_version"),
                "security_hub_control": first.get("security_hub_control"),
                "title": first.get("title"),
                "count": len(items),
                "account_count": len({item.get("account_id") for item in items}),
            }
        )
    return controls


def build_audit_report(
    accounts: Iterable[Mapping[str, Any]],
    max_key_age_days: int,
    unused_days: int,
    generator: str = DEFAULT_GENERATOR,
    generated_at: datetime.datetime | None = None,
) -> dict[str, Any]:
    """The report of ``accounts``: each a mapping with ``result`` (the registered iam_access_key_info result of a
    whole-account report, failed or not) and the account's ``account_id``, ``account_name``, ``host``, ``ou_path``
    and ``assume_role_arn`` (all optional; the name defaults to the host)."""
    report_accounts, access_keys, findings, errors = [], [], [], []
    for position, entry in enumerate(accounts):
        if not isinstance(entry, Mapping):
            raise AuditReportError(f"account entry {position} is a {type(entry).__name__}, not a mapping")
        result = entry.get("result")
        if not isinstance(result, Mapping):
            raise AuditReportError(
                f"account entry {position} ({entry.get('host') or entry.get('account_name')}) has no registered "
                "result under 'result'"
            )
        identity = _account_identity(entry)
        failed = bool(result.get("failed", False))
        keys = list(result.get("access_keys") or [])
        found = _findings_of(identity, result, keys)
        error = (result.get("msg") or DEFAULT_ERROR) if failed else None
        report_accounts.append(
            {
                **identity,
                "host": entry.get("host"),
                "ou_path": list(entry.get("ou_path") or []),
                "assume_role_arn": entry.get("assume_role_arn"),
                "status": "error" if failed else "audited",
                "error": error,
                "key_count": len(keys),
                "active_key_count": sum(1 for key in keys if key.get("status") == "Active"),
                "finding_count": len(found),
                "credential_report_generated_at": result.get("credential_report_generated_at"),
                "root_account": result.get("root_account"),
            }
        )
        access_keys.extend({**key, **identity} for key in keys)
        findings.extend(found)
        if failed:
            errors.append({**identity, "host": entry.get("host"), "error": error})
    moment = generated_at or datetime.datetime.now(datetime.timezone.utc)
    return {
        "generated_at": moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "generator": generator,
        "thresholds": {"max_key_age_days": int(max_key_age_days), "unused_days": int(unused_days)},
        "totals": {
            "accounts": len(report_accounts),
            "accounts_audited": sum(1 for account in report_accounts if account["status"] == "audited"),
            "accounts_failed": len(errors),
            "keys": len(access_keys),
            "active_keys": sum(1 for key in access_keys if key.get("status") == "Active"),
            "findings": len(findings),
        },
        "accounts": sorted(report_accounts, key=lambda account: str(account["account_name"]).lower()),
        "keys": access_keys,
        "findings": findings,
        "controls": _controls(findings),
        "errors": errors,
    }
