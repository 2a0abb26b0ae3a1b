# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""Compliance findings of access keys and of the root account: CIS AWS Foundations and Security Hub (pure).

Each finding names its control in the numbering of the CIS AWS Foundations Benchmark version it cites
(CIS_VERSION; later versions renumbered the IAM section) and the AWS Security Hub control id, where there is one.
"""

from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.keyguard.aws.plugins.module_utils._credential_report import report_time
from ansible_collections.keyguard.aws.plugins.module_utils._key_types import ACTIVE

CIS_VERSION = "3.0.0"
DEFAULT_UNUSED_DAYS = 45
DEFAULT_MAX_AGE_DAYS = 90


@dataclasses.dataclass(frozen=True)
class Control:
    finding: str  # our id of the finding
    cis: str
    security_hub: str | None
    title: str

    def finding_for(self, detail: str) -> dict[str, t.Any]:
        return {
            "finding": self.finding,
            "cis_control": self.cis,
            "cis_version": CIS_VERSION,
            "security_hub_control": self.security_hub,
            "title": self.title,
            "detail": detail,
        }


ROOT_ACCESS_KEY = Control("root_access_key", "1.4", "IAM.4", "The root user has an active access key")
UNUSED = Control("unused_key", "1.12", "IAM.22", "An active access key has been unused for too long")
MULTIPLE_ACTIVE = Control("multiple_active_keys", "1.13", None, "A user has more than one active access key")
NOT_ROTATED = Control("key_not_rotated", "1.14", "IAM.3", "An active access key is older than allowed")
CONTROLS = (ROOT_ACCESS_KEY, UNUSED, MULTIPLE_ACTIVE, NOT_ROTATED)


def key_findings(
    entry: dict[str, t.Any], active_keys_of_user: int, unused_days: int, max_age_days: int
) -> list[dict[str, t.Any]]:
    """The findings of one report entry (``access_keys[]`` of iam_access_key_info); only Active keys have any.

    A key never used counts as unused since its creation (CIS counts it; a check skipping never-used keys misses the
    riskiest ones). Without last-use data (include_last_used=false) the unused check is not made.
    """
    if entry["status"] != ACTIVE:
        return []
    findings = []
    if "last_used_date" in entry:
        idle = entry["days_since_last_used"] if entry["last_used_date"] else entry["age_days"]
        if idle is not None and idle >= unused_days:
            since = f"last used {idle} days ago" if entry["last_used_date"] else f"never used in {idle} days"
            findings.append(UNUSED.finding_for(f"{since} (threshold {unused_days})"))
    if active_keys_of_user > 1:
        findings.append(MULTIPLE_ACTIVE.finding_for(f"user {entry['user_name']} has {active_keys_of_user} active keys"))
    if entry["age_days"] is not None and entry["age_days"] > max_age_days:
        findings.append(NOT_ROTATED.finding_for(f"{entry['age_days']} days old (threshold {max_age_days})"))
    return findings


def root_account(row: dict[str, str]) -> dict[str, t.Any]:
    """The root user's access keys from the credential report's ``<root_account>`` row, with their finding."""
    result: dict[str, t.Any] = {"arn": row.get("arn"), "mfa_active": row.get("mfa_active") == "true"}
    active = []
    for slot in ("1", "2"):
        is_active = row.get(f"access_key_{slot}_active") == "true"
        result[f"access_key_{slot}_active"] = is_active
        for column in ("last_rotated", "last_used_date"):
            when = report_time(row.get(f"access_key_{slot}_{column}"))
            result[f"access_key_{slot}_{column}"] = when.isoformat() if when else None
        if is_active:
            active.append(slot)
    result["findings"] = (
        [ROOT_ACCESS_KEY.finding_for(f"root access key {' and '.join(active)} active")] if active else []
    )
    return result
