# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""The accounts of an AWS Organization, with the organizational units they sit in (for the aws_accounts inventory).

The organization is walked from its root (or from given parents) with ListOrganizationalUnitsForParent and
ListAccountsForParent, paginated: one pair of calls per unit, so each account comes with its parent and the path
of units above it, without a ListParents call per account.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

from ansible_collections.keyguard.aws.plugins.module_utils._aws_calls import call, paginate
from ansible_collections.keyguard.aws.plugins.module_utils._errors import AwsError

PARENT_ID_PATTERN = re.compile(r"r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}")
ACCOUNT_ID_PATTERN = re.compile(r"\d{12}")
DEFAULT_ROLE_NAME = "OrganizationAccountAccessRole"
ROLE_NAME_PATTERN = re.compile(r"[\w+=,.@-]{1,64}(/[\w+=,.@-]{1,64})*")


@dataclasses.dataclass(frozen=True)
class Unit:
    """A root or organizational unit."""

    id: str
    name: str


@dataclasses.dataclass(frozen=True)
class Account:
    id: str
    name: str
    email: str
    status: str
    arn: str
    parent_id: str
    path: tuple[Unit, ...]  # the root (or the parent the walk started at) first, the account's parent last

    def role_arn(self, role_name: str) -> str:
        """The ARN of ``role_name`` in this account, in the organization's partition."""
        partition = self.arn.split(":")[1] if self.arn.startswith("arn:") else "aws"
        return f"arn:{partition}:iam::{self.id}:role/{role_name}"


def validate_selection(parent_ids: t.Iterable[str], accounts: t.Iterable[str], role_name: str) -> None:
    """Reject malformed parent ids and an invalid role name before any call (account ids or names both count)."""
    bad = [parent for parent in parent_ids if not PARENT_ID_PATTERN.fullmatch(parent)]
    if bad:
        raise AwsError(f"parent_ids {bad} are not organization root (r-...) or organizational unit (ou-...) ids")
    if not ROLE_NAME_PATTERN.fullmatch(role_name):
        raise AwsError(f"role_name {role_name!r} is not a valid IAM role name")
    for account in accounts:
        if not str(account).strip():
            raise AwsError("include_accounts and exclude_accounts take account ids or names, not empty strings")


def list_accounts(client: t.Any, parent_ids: t.Sequence[str] = ()) -> list[Account]:
    """Every account under ``parent_ids`` (recursively), or in the whole organization; sorted by name, then id."""
    if parent_ids:
        starts = [_unit(client, parent_id) for parent_id in parent_ids]
    else:
        roots, _headers = paginate(client, "ListRoots", "Roots")
        starts = [Unit(root["Id"], root.get("Name") or "Root") for root in roots]
    found: dict[str, Account] = {}
    pending = [(start, (start,)) for start in starts]
    while pending:
        unit, path = pending.pop()
        accounts, _headers = paginate(client, "ListAccountsForParent", "Accounts", ParentId=unit.id)
        for item in accounts:
            found.setdefault(
                item["Id"],
                Account(
                    id=item["Id"],
                    name=item.get("Name", item["Id"]),
                    email=item.get("Email", ""),
                    status=item.get("State") or item.get("Status", "ACTIVE"),
                    arn=item.get("Arn", ""),
                    parent_id=unit.id,
                    path=path,
                ),
            )
        children, _headers = paginate(
            client, "ListOrganizationalUnitsForParent", "OrganizationalUnits", ParentId=unit.id
        )
        for child in children:
            child_unit = Unit(child["Id"], child.get("Name", child["Id"]))
            pending.append((child_unit, (*path, child_unit)))
    return sorted(found.values(), key=lambda account: (account.name, account.id))


def _unit(client: t.Any, parent_id: str) -> Unit:
    if parent_id.startswith("r-"):
        roots, _headers = paginate(client, "ListRoots", "Roots")
        root = next((root for root in roots if root["Id"] == parent_id), None)
        if root is None:
            raise AwsError(f"parent {parent_id} is not the root of this organization")
        return Unit(parent_id, root.get("Name") or "Root")
    described = call(client, "DescribeOrganizationalUnit", OrganizationalUnitId=parent_id)["OrganizationalUnit"]
    return Unit(parent_id, described.get("Name", parent_id))


def select(
    accounts: t.Iterable[Account],
    statuses: t.Collection[str],
    include: t.Collection[str] = (),
    exclude: t.Collection[str] = (),
) -> list[Account]:
    """The accounts with one of ``statuses``, in ``include`` (ids or names; all when empty), not in ``exclude``."""

    def named(account: Account, names: t.Collection[str]) -> bool:
        return account.id in names or account.name in names

    return [
        account
        for account in accounts
        if account.status in statuses and (not include or named(account, include)) and not named(account, exclude)
    ]
