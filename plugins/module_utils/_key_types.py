# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""The values keyguard.aws reasons about: access keys, their last use, planned actions, and the name rules."""

from __future__ import annotations

import dataclasses
import datetime
import re
import typing as t
import unicodedata

from ansible_collections.keyguard.aws.plugins.module_utils._aws import AwsError
from ansible_collections.keyguard.aws.plugins.module_utils._aws_calls import utc

ACTIVE = "Active"
INACTIVE = "Inactive"
MAX_KEYS_PER_USER = 2

ACCESS_KEY_ID_PATTERN = re.compile(r"[A-Z0-9]{16,128}")
USER_NAME_PATTERN = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
# IAM tag values: Unicode letters (L), separators (Z), numbers (N) and _ . : / = + - @
TAG_VALUE_EXTRA_CHARACTERS = frozenset("_.:/=+-@")
MAX_DESCRIPTION_LENGTH = 256
# The placeholders IAM and the credential report use for "no data".
PLACEHOLDERS = frozenset({"", "N/A", "not_supported", "no_information"})


# The options that name a user and a key, the same in every module.
USER_AND_KEY_OPTIONS: dict[str, dict[str, t.Any]] = {
    "user_name": {"type": "str", "aliases": ["username"]},
    "id": {"type": "str", "aliases": ["access_key_id"]},
}


def request_fields(request_class: t.Any, params: dict[str, t.Any]) -> dict[str, t.Any]:
    """A request dataclass's fields from the validated options of the same names (``access_key_id`` is ``id``)."""
    return {
        field.name: params["id" if field.name == "access_key_id" else field.name]
        for field in dataclasses.fields(request_class)
    }


class ActionKind:
    """The changes a plan is made of (the ``action`` of each entry in a task's ``actions``)."""

    CREATE = "create"
    ACTIVATE = "activate"
    DEACTIVATE = "deactivate"
    DELETE = "delete"
    DESCRIBE = "describe"  # set a key's description tag
    STORE = "store"  # write the new key's secret to the secret store


@dataclasses.dataclass(frozen=True)
class AccessKey:
    """One access key as keyguard.aws reports it. ``access_key_id`` is None for a key only planned."""

    access_key_id: str | None
    user_name: str
    status: str
    create_date: datetime.datetime | None
    description: str | None = None

    @classmethod
    def from_api(cls, item: dict[str, t.Any], user_name: str, description: str | None = None) -> AccessKey:
        """From an AccessKey or AccessKeyMetadata of IAM's API (CreateAccessKey, ListAccessKeys)."""
        return cls(
            access_key_id=item["AccessKeyId"],
            user_name=item.get("UserName", user_name),
            status=item["Status"],
            create_date=utc(item["CreateDate"]),
            description=description,
        )

    def to_result(self) -> dict[str, t.Any]:
        return {
            "access_key_id": self.access_key_id,
            "user_name": self.user_name,
            "status": self.status,
            "create_date": self.create_date.isoformat() if self.create_date else None,
            "description": self.description,
        }


@dataclasses.dataclass(frozen=True)
class Action:
    """One change (an ActionKind). ``access_key_id`` is None for the key a ``create`` in the same plan makes;
    ``destination`` is where a ``store`` writes (``secretsmanager:NAME`` or ``ssm:NAME``)."""

    action: str
    access_key_id: str | None
    description: str | None = None
    destination: str | None = None

    def to_result(self) -> dict[str, t.Any]:
        result = {"action": self.action, "access_key_id": self.access_key_id}
        if self.destination is not None:
            result["destination"] = self.destination
        return result


@dataclasses.dataclass(frozen=True)
class LastUse:
    """When and where a key was last used; ``date`` is None for a key never used."""

    date: datetime.datetime | None = None
    service: str | None = None
    region: str | None = None

    @classmethod
    def from_api(cls, used: dict[str, t.Any]) -> LastUse:
        """From GetAccessKeyLastUsed's AccessKeyLastUsed, with AWS's "N/A" placeholders turned into None."""
        date = used.get("LastUsedDate")
        return cls(
            date=utc(date) if date else None,
            service=unless_placeholder(used.get("ServiceName")),
            region=unless_placeholder(used.get("Region")),
        )

    def summary(self) -> str:
        if self.date is None:
            return "never used"
        where = " ".join(part for part in (self.service, self.region) if part)
        return f"last used {self.date.isoformat()}" + (f" ({where})" if where else "")


def unless_placeholder(value: str | None) -> str | None:
    """None for the placeholders IAM and the credential report use for "no data"."""
    return None if value is None or value in PLACEHOLDERS else value


def validate_names(user_name: str | None, access_key_id: str | None) -> None:
    """Reject a malformed user name or access key id (None means not given)."""
    if user_name is not None and not USER_NAME_PATTERN.fullmatch(user_name):
        raise AwsError(
            f"user_name {user_name!r} is not a valid IAM user name (1-64 characters: letters, digits and + = , . @ _ -)"
        )
    if access_key_id is not None and not ACCESS_KEY_ID_PATTERN.fullmatch(access_key_id):
        raise AwsError(f"id {access_key_id!r} is not a valid access key id (16-128 upper-case letters and digits)")


def validate_description(description: str | None) -> None:
    """A description is stored as an IAM user tag value: at most 256 characters, of the characters tags allow."""
    if description is None:
        return
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise AwsError(
            f"description is {len(description)} characters long; IAM allows at most {MAX_DESCRIPTION_LENGTH}"
        )
    if not all(unicodedata.category(char)[0] in "LZN" or char in TAG_VALUE_EXTRA_CHARACTERS for char in description):
        raise AwsError(
            "description may only contain letters, digits, spaces and _ . : / = + - @ "
            "(it is stored as an IAM user tag value)"
        )


def sort_keys(keys: t.Iterable[AccessKey]) -> list[AccessKey]:
    """Oldest first; planned keys (no create date yet) last."""
    far_future = datetime.datetime.max.replace(tzinfo=datetime.timezone.utc)
    return sorted(keys, key=lambda key: (key.create_date or far_future, key.access_key_id or ""))


def keys_in_scope(keys: list[AccessKey], description: str | None) -> list[AccessKey]:
    """The keys a task without ``id`` is about: those with its description, or all when it has none."""
    if description is None:
        return list(keys)
    return [key for key in keys if key.description == description]


def whole_days(since: datetime.datetime, now: datetime.datetime) -> int:
    """Whole days from ``since`` to ``now``; 0 when ``since`` is in the future (clock skew).

    Both are taken to the second: ``now`` is IAM's clock from a Date header, which has no fractions, so a key
    created at 12:00:00.4 is three days old at 12:00:00 three days later, as it is in IAM's own whole-second dates.
    """
    elapsed = now.replace(microsecond=0) - since.replace(microsecond=0)
    return max(0, int(elapsed.total_seconds() // 86400))
