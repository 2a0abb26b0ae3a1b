# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""Reading a user's access keys from IAM: the keys with their descriptions, a key's owner, a key's last use."""

from __future__ import annotations

import dataclasses
import datetime
import typing as t

from ansible_collections.keyguard.aws.plugins.module_utils._aws_calls import call, paginate, paginate_short, server_time
from ansible_collections.keyguard.aws.plugins.module_utils._key_types import (
    ACCESS_KEY_ID_PATTERN,
    AccessKey,
    LastUse,
    sort_keys,
)


@dataclasses.dataclass(frozen=True)
class UserKeys:
    user_name: str
    exists: bool
    keys: list[AccessKey]
    server_time: datetime.datetime | None = None
    # Description tags left behind by keys that no longer exist (e.g. a delete whose untag never ran).
    stale_descriptions: dict[str, str] = dataclasses.field(default_factory=dict)


def read_user_keys(client: t.Any, user_name: str, always_read_tags: bool = False) -> UserKeys:
    """All of a user's keys with their descriptions. A missing user gives ``exists=False``.

    Tags are read when the user has keys, or always with ``always_read_tags`` (to find stale descriptions).
    """
    listed = paginate_short(client, "ListAccessKeys", "AccessKeyMetadata", absent_ok=True, UserName=user_name)
    if listed is None:
        return UserKeys(user_name, exists=False, keys=[])
    metadata, headers = listed
    descriptions: dict[str, str] = {}
    if metadata or always_read_tags:
        tags, _headers = paginate(client, "ListUserTags", "Tags", UserName=user_name)
        descriptions = {tag["Key"]: tag["Value"] for tag in tags}
    keys = [AccessKey.from_api(item, user_name, descriptions.get(item["AccessKeyId"])) for item in metadata]
    key_ids = {key.access_key_id for key in keys}
    stale = {
        tag_key: value
        for tag_key, value in descriptions.items()
        if ACCESS_KEY_ID_PATTERN.fullmatch(tag_key) and tag_key.startswith("AKIA") and tag_key not in key_ids
    }
    return UserKeys(user_name, True, sort_keys(keys), server_time(headers), stale)


def key_last_used(client: t.Any, access_key_id: str) -> tuple[str, LastUse] | None:
    """GetAccessKeyLastUsed: the key's owner and last use, or None if IAM does not know the key."""
    response = call(client, "GetAccessKeyLastUsed", absent_ok=True, AccessKeyId=access_key_id)
    if response is None:
        return None
    return response.get("UserName"), LastUse.from_api(response.get("AccessKeyLastUsed", {}))


def owner_of_key(client: t.Any, access_key_id: str) -> str | None:
    """The user owning an access key, or None if IAM does not know the key."""
    found = key_last_used(client, access_key_id)
    return found[0] if found else None


def read_last_use(client: t.Any, access_key_id: str) -> LastUse:
    """A key's last use (GetAccessKeyLastUsed)."""
    return LastUse.from_api(
        call(client, "GetAccessKeyLastUsed", AccessKeyId=access_key_id).get("AccessKeyLastUsed", {})
    )
