# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""IAM access-key operations: read the current keys, plan the changes, apply them.

The planner (``plan``) is a pure function of the current keys and the request; check mode
returns its actions without applying them and diff mode shows the keys it leads to.
"""

from __future__ import annotations

import dataclasses
import datetime
import email.utils
import re
import typing as t
import unicodedata

from ansible_collections.keyguard.aws.plugins.module_utils._aws import (
    AmbiguousRequestError,
    AwsError,
    connection_kwargs,
    describe_failure,
    error_code,
    iam_client,
    is_aws_failure,
)

STATES = ("present", "active", "inactive", "absent")
PREVIOUS_KEYS_CHOICES = ("keep", "deactivate", "delete")
ACTIVE = "Active"
INACTIVE = "Inactive"
MAX_KEYS_PER_USER = 2
MAX_DESCRIPTION_LENGTH = 256

ACCESS_KEY_ID_PATTERN = re.compile(r"[A-Z0-9]{16,128}")
USER_NAME_PATTERN = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
# IAM tag values: Unicode letters (L), separators (Z), numbers (N) and _ . : / = + - @
TAG_VALUE_EXTRA_CHARACTERS = frozenset("_.:/=+-@")

WRITE_OPERATIONS = frozenset({"CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey", "TagUser", "UntagUser"})


@dataclasses.dataclass(frozen=True)
class AccessKey:
    """One access key as keyguard.aws reports it. ``access_key_id`` is None for a key only planned."""

    access_key_id: str | None
    user_name: str
    status: str
    create_date: datetime.datetime | None
    description: str | None = None

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
    """One change. ``access_key_id`` is None for the key a ``create`` in the same plan makes."""

    action: str
    access_key_id: str | None
    description: str | None = None

    def to_result(self) -> dict[str, t.Any]:
        return {"action": self.action, "access_key_id": self.access_key_id}


@dataclasses.dataclass(frozen=True)
class KeyRequest:
    """The desired state of a user's access keys, validated."""

    user_name: str | None
    access_key_id: str | None
    description: str | None
    state: str
    rotate_after_days: int | None = None
    previous_keys: str = "keep"
    previous_keys_idle_hours: int = 0

    @classmethod
    def from_params(cls, params: dict[str, t.Any]) -> KeyRequest:
        request = cls(
            user_name=params.get("user_name"),
            access_key_id=params.get("id") if params.get("id") is not None else None,
            description=params.get("description"),
            state=params.get("state") or "present",
            rotate_after_days=params.get("rotate_after_days"),
            previous_keys=params.get("previous_keys") or "keep",
            previous_keys_idle_hours=params.get("previous_keys_idle_hours") or 0,
        )
        request.validate()
        return request

    def input_warnings(self) -> list[str]:
        """Options given that cannot take effect together: harmless, so said rather than refused."""
        if self.previous_keys_idle_hours and self.previous_keys == "keep":
            return ["previous_keys_idle_hours has no effect with previous_keys=keep: no previous key is retired"]
        return []

    @property
    def manages_lifecycle(self) -> bool:
        """The task rotates keys or manages previous keys, so it may delete an Inactive key to make room."""
        return self.rotate_after_days is not None or self.previous_keys != "keep"

    def validate(self) -> None:
        """Reject bad input before any AWS call."""
        if self.state not in STATES:
            raise AwsError(f"state must be one of {', '.join(STATES)}, got {self.state!r}")
        if self.previous_keys not in PREVIOUS_KEYS_CHOICES:
            raise AwsError(
                f"previous_keys must be one of {', '.join(PREVIOUS_KEYS_CHOICES)}, got {self.previous_keys!r}"
            )
        if self.rotate_after_days is not None and self.rotate_after_days < 1:
            raise AwsError(f"rotate_after_days must be at least 1, got {self.rotate_after_days}")
        if self.previous_keys_idle_hours < 0:
            raise AwsError(f"previous_keys_idle_hours must be 0 or more, got {self.previous_keys_idle_hours}")
        if self.manages_lifecycle or self.previous_keys_idle_hours:
            given = [
                name
                for name, value in (
                    ("rotate_after_days", self.rotate_after_days is not None),
                    ("previous_keys", self.previous_keys != "keep"),
                    ("previous_keys_idle_hours", bool(self.previous_keys_idle_hours)),
                )
                if value
            ]
            if self.access_key_id is not None:
                raise AwsError(
                    f"{', '.join(given)} cannot be combined with id: rotation manages a user's keys in scope"
                )
            if self.state not in ("present", "active"):
                raise AwsError(f"{', '.join(given)} can only be used with state=present or state=active")
        if self.user_name is None and self.access_key_id is None:
            raise AwsError("one of user_name or id is required")
        validate_names(self.user_name, self.access_key_id)
        if self.description is not None:
            if len(self.description) > MAX_DESCRIPTION_LENGTH:
                raise AwsError(
                    f"description is {len(self.description)} characters long; "
                    f"IAM allows at most {MAX_DESCRIPTION_LENGTH}"
                )
            if not is_valid_tag_value(self.description):
                raise AwsError(
                    "description may only contain letters, digits, spaces and _ . : / = + - @ "
                    "(it is stored as an IAM user tag value)"
                )


def validate_names(user_name: str | None, access_key_id: str | None) -> None:
    """Reject a malformed user name or access key id (None means not given)."""
    if user_name is not None and not USER_NAME_PATTERN.fullmatch(user_name):
        raise AwsError(
            f"user_name {user_name!r} is not a valid IAM user name (1-64 characters: letters, digits and + = , . @ _ -)"
        )
    if access_key_id is not None and not ACCESS_KEY_ID_PATTERN.fullmatch(access_key_id):
        raise AwsError(f"id {access_key_id!r} is not a valid access key id (16-128 upper-case letters and digits)")


def is_valid_tag_value(value: str) -> bool:
    return all(unicodedata.category(char)[0] in "LZN" or char in TAG_VALUE_EXTRA_CHARACTERS for char in value)


# ---------------------------------------------------------------------------------------------
# Planning (pure)
# ---------------------------------------------------------------------------------------------


def sort_keys(keys: t.Iterable[AccessKey]) -> list[AccessKey]:
    """Oldest first; planned keys (no create date yet) last."""
    far_future = datetime.datetime.max.replace(tzinfo=datetime.timezone.utc)
    return sorted(keys, key=lambda key: (key.create_date or far_future, key.access_key_id or ""))


def keys_in_scope(keys: list[AccessKey], description: str | None) -> list[AccessKey]:
    if description is None:
        return list(keys)
    return [key for key in keys if key.description == description]


class KeyLimitError(AwsError):
    """A key must be created but the user already has as many keys as IAM allows."""

    def __init__(self, user_name: str, keys: list[AccessKey]) -> None:
        self.user_name = user_name
        self.keys = sort_keys(keys)
        super().__init__(key_limit_message(user_name, self.keys))


def key_limit_message(user_name: str, keys: list[AccessKey], last_used: dict[str, LastUse] | None = None) -> str:
    def describe(key: AccessKey) -> str:
        if last_used is None or key.access_key_id not in last_used:
            return f"{key.access_key_id} ({key.status})"
        return f"{key.access_key_id} ({key.status}, {last_used[key.access_key_id].summary()})"

    listed = ", ".join(describe(key) for key in sort_keys(keys))
    return (
        f"cannot create an access key for user {user_name}: it already has {len(keys)} keys, "
        f"the most IAM allows ({listed}); delete one or pass its id"
    )


@dataclasses.dataclass(frozen=True)
class LastUse:
    """When and where a key was last used; ``date`` is None for a key never used."""

    date: datetime.datetime | None = None
    service: str | None = None
    region: str | None = None

    def summary(self) -> str:
        if self.date is None:
            return "never used"
        where = " ".join(part for part in (self.service, self.region) if part)
        return f"last used {self.date.isoformat()}" + (f" ({where})" if where else "")


@dataclasses.dataclass
class Plan:
    """What a task will do: ordered actions, plus what the caller reports beside them."""

    actions: list[Action]
    rotated: bool = False
    retained: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)


def whole_days(since: datetime.datetime, now: datetime.datetime) -> int:
    """Whole days from ``since`` to ``now``; 0 when ``since`` is in the future (clock skew).

    Both are taken to the second: ``now`` is IAM's clock from a Date header, which has no fractions, so a key
    created at 12:00:00.4 is three days old at 12:00:00 three days later, as it is in IAM's own whole-second dates.
    """
    elapsed = now.replace(microsecond=0) - since.replace(microsecond=0)
    return max(0, int(elapsed.total_seconds() // 86400))


def age_days(key: AccessKey, now: datetime.datetime) -> int:
    if key.create_date is None:
        return 0
    return whole_days(key.create_date, now)


def current_key(scope: list[AccessKey]) -> AccessKey | None:
    """The newest Active key in scope."""
    active = [key for key in sort_keys(scope) if key.status == ACTIVE]
    return active[-1] if active else None


def plan(
    keys: list[AccessKey],
    request: KeyRequest,
    user_name: str,
    now: datetime.datetime | None = None,
    last_used: dict[str, LastUse] | None = None,
    stale_descriptions: dict[str, str] | None = None,
) -> Plan:
    """The ordered actions that take ``keys`` (all of the user's keys) to the requested state.

    ``now`` is IAM's clock (only rotation needs it); ``last_used`` maps key ids to their last use
    (only the idle guard needs it, see ``keys_needing_last_use``); ``stale_descriptions`` are
    description tags of keys already gone, which ``absent`` removes. Raises AwsError, before
    anything changes, when the request cannot be met.
    """
    if request.state == "absent" and stale_descriptions:
        stale = [
            Action("delete", key_id, description)
            for key_id, description in sorted(stale_descriptions.items())
            if key_id == request.access_key_id
            or (request.access_key_id is None and request.description in (None, description))
        ]
        if stale:
            return Plan(plan(keys, request, user_name).actions + stale)
    if request.access_key_id is not None:
        return Plan(_plan_for_key_id(keys, request, user_name))
    return _plan_for_scope(
        keys, request, user_name, now or datetime.datetime.now(datetime.timezone.utc), last_used or {}
    )


def keys_needing_last_use(keys: list[AccessKey], request: KeyRequest) -> list[str]:
    """Ids whose last use the planner needs: the keys in scope, when the idle guard may retire some."""
    if request.access_key_id is not None or request.previous_keys == "keep" or not request.previous_keys_idle_hours:
        return []
    return [key.access_key_id for key in sort_keys(keys_in_scope(keys, request.description)) if key.access_key_id]


def _plan_for_key_id(keys: list[AccessKey], request: KeyRequest, user_name: str) -> list[Action]:
    key = next((key for key in keys if key.access_key_id == request.access_key_id), None)
    if key is None:
        if request.state == "absent":
            return []
        raise AwsError(f"access key {request.access_key_id} does not exist for user {user_name}")
    if request.state == "absent":
        return [Action("delete", key.access_key_id, key.description)]

    actions = []
    if request.state == "active" and key.status != ACTIVE:
        actions.append(Action("activate", key.access_key_id))
    elif request.state == "inactive" and key.status != INACTIVE:
        actions.append(Action("deactivate", key.access_key_id))
    if request.description is not None and key.description != request.description:
        actions.append(Action("describe", key.access_key_id, request.description))
    return actions


def _plan_for_scope(
    keys: list[AccessKey],
    request: KeyRequest,
    user_name: str,
    now: datetime.datetime,
    last_used: dict[str, LastUse],
) -> Plan:
    scope = sort_keys(keys_in_scope(keys, request.description))
    if request.state == "absent":
        return Plan([Action("delete", key.access_key_id, key.description) for key in scope])
    if request.state == "inactive":
        return Plan([Action("deactivate", key.access_key_id) for key in scope if key.status != INACTIVE])

    current = current_key(scope)
    rotate = (
        current is not None
        and request.rotate_after_days is not None
        and age_days(current, now) >= request.rotate_after_days
    )
    if request.state == "present":
        needs_key = not scope or rotate
    else:  # active: an Inactive key is never re-activated implicitly, it may be compromised
        needs_key = current is None or rotate

    result = Plan([], rotated=rotate)
    remaining = list(keys)
    if needs_key:
        result.actions.extend(_make_room(remaining, scope, current, request, user_name, now, last_used))
        remaining = [key for key in remaining if key.access_key_id not in _deleted_ids(result.actions)]
        result.actions.append(Action("create", None))
        if request.description is not None:
            result.actions.append(Action("describe", None, request.description))
        kept_id = None  # the key created now becomes the current key
    else:
        # Keep the current key; when there is none (state=present with only Inactive keys), keep the newest.
        kept = current or scope[-1]
        kept_id = kept.access_key_id

    if request.previous_keys != "keep":
        in_scope = sort_keys(keys_in_scope(remaining, request.description))
        previous = [key for key in in_scope if key.access_key_id != kept_id]
        result.actions.extend(_retire_previous_keys(previous, request, now, last_used, result))
    return result


def _deleted_ids(actions: list[Action]) -> set[str | None]:
    return {action.access_key_id for action in actions if action.action == "delete"}


def _make_room(
    keys: list[AccessKey],
    scope: list[AccessKey],
    current: AccessKey | None,
    request: KeyRequest,
    user_name: str,
    now: datetime.datetime,
    last_used: dict[str, LastUse],
) -> list[Action]:
    """When the user is at IAM's limit and the task manages the lifecycle, delete one key in scope first.

    The oldest Inactive key goes first. Failing that, a previous key that ``previous_keys`` retires in this run
    anyway (Active, not the current key, idle per the idle guard) is deleted before the create instead of after it,
    so a daily rotation with the idle guard converges at the limit. A key in use is never touched.
    """
    if len(keys) < MAX_KEYS_PER_USER:
        return []
    if not request.manages_lifecycle:
        raise KeyLimitError(user_name, keys)
    candidates = [key for key in sort_keys(scope) if key.status == INACTIVE]
    if request.previous_keys != "keep":
        current_id = current.access_key_id if current else None
        candidates += [
            key
            for key in sort_keys(scope)
            if key.status == ACTIVE and key.access_key_id != current_id and _is_idle(key, request, now, last_used)
        ]
    if not candidates:
        raise KeyLimitError(user_name, keys)
    oldest = candidates[0]
    return [Action("delete", oldest.access_key_id, oldest.description)]


def _is_idle(key: AccessKey, request: KeyRequest, now: datetime.datetime, last_used: dict[str, LastUse]) -> bool:
    """The idle guard: never used, or last used at least previous_keys_idle_hours ago."""
    use = last_used.get(key.access_key_id, LastUse())
    return use.date is None or (now - use.date).total_seconds() / 3600 >= request.previous_keys_idle_hours


def _retire_previous_keys(
    previous: list[AccessKey],
    request: KeyRequest,
    now: datetime.datetime,
    last_used: dict[str, LastUse],
    result: Plan,
) -> list[Action]:
    actions = []
    for key in previous:
        if request.previous_keys == "deactivate" and key.status == INACTIVE:
            continue
        if not _is_idle(key, request, now, last_used):
            use = last_used[key.access_key_id]
            result.retained.append(key.access_key_id)
            result.warnings.append(
                f"kept previous access key {key.access_key_id} of user {key.user_name} ({key.status}): "
                f"{use.summary()}, less than previous_keys_idle_hours={request.previous_keys_idle_hours} ago"
            )
            continue
        if request.previous_keys == "deactivate":
            actions.append(Action("deactivate", key.access_key_id))
        else:
            actions.append(Action("delete", key.access_key_id, key.description))
    return actions


def project(
    keys: list[AccessKey], actions: list[Action], user_name: str, created: AccessKey | None = None
) -> list[AccessKey]:
    """The keys after ``actions``; ``created`` stands for the key a ``create`` makes (a placeholder if None)."""
    result = {key.access_key_id: key for key in keys}
    new_key = created or AccessKey(None, user_name, ACTIVE, None)
    for action in actions:
        if action.action == "create":
            result[new_key.access_key_id] = new_key
            continue
        key_id = action.access_key_id if action.access_key_id is not None else new_key.access_key_id
        if action.action == "delete":
            result.pop(key_id, None)  # an orphan deleted after a lost CreateAccessKey response was never listed
            continue
        key = result[key_id]
        if action.action == "activate":
            result[key_id] = dataclasses.replace(key, status=ACTIVE)
        elif action.action == "deactivate":
            result[key_id] = dataclasses.replace(key, status=INACTIVE)
        elif action.action == "describe":
            result[key_id] = dataclasses.replace(key, description=action.description)
    return sort_keys(result.values())


def key_of_interest(keys: list[AccessKey], request: KeyRequest, created: AccessKey | None) -> AccessKey | None:
    """The key a task is about: the id key, the created key, else the newest Active key in scope, else the newest."""
    if request.access_key_id is not None:
        return next((key for key in keys if key.access_key_id == request.access_key_id), None)
    if created is not None:
        return next((key for key in keys if key.access_key_id == created.access_key_id), created)
    scope = sort_keys(keys_in_scope(keys, request.description))
    active = [key for key in scope if key.status == ACTIVE]
    if active:
        return active[-1]
    return scope[-1] if scope else None


# ---------------------------------------------------------------------------------------------
# Reading and writing IAM
# ---------------------------------------------------------------------------------------------


def call(client: t.Any, operation: str, **kwargs: t.Any) -> dict[str, t.Any]:
    """Make one IAM call, turning botocore's failures into AwsError naming the operation."""
    method = getattr(client, _snake_case(operation))
    try:
        return method(**kwargs)
    except Exception as exc:
        if is_aws_failure(exc):
            raise AwsError(describe_failure(operation, exc), code=error_code(exc)) from None
        raise


def paginate(client: t.Any, operation: str, result_key: str, **kwargs: t.Any) -> tuple[list[dict[str, t.Any]], dict]:
    """All items of a paginated IAM list call, and the HTTP headers of its first page."""
    items: list[dict[str, t.Any]] = []
    headers: dict[str, str] = {}
    try:
        for page in client.get_paginator(_snake_case(operation)).paginate(**kwargs):
            if not headers:
                headers = page.get("ResponseMetadata", {}).get("HTTPHeaders", {})
            items.extend(page.get(result_key, []))
    except Exception as exc:
        if is_aws_failure(exc):
            raise AwsError(describe_failure(operation, exc), code=error_code(exc)) from None
        raise
    return items, headers


def _snake_case(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def server_time(headers: dict[str, str]) -> datetime.datetime | None:
    """IAM's own clock from a response's Date header, so key ages do not depend on the local clock."""
    value = headers.get("date")
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).astimezone(datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def utc(value: datetime.datetime) -> datetime.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


@dataclasses.dataclass
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
    try:
        metadata, headers = paginate(client, "ListAccessKeys", "AccessKeyMetadata", UserName=user_name)
    except AwsError as exc:
        if exc.code == "NoSuchEntity":
            return UserKeys(user_name, exists=False, keys=[])
        raise
    descriptions: dict[str, str] = {}
    if metadata or always_read_tags:
        tags, _headers = paginate(client, "ListUserTags", "Tags", UserName=user_name)
        descriptions = {tag["Key"]: tag["Value"] for tag in tags}
    keys = [
        AccessKey(
            access_key_id=item["AccessKeyId"],
            user_name=item.get("UserName", user_name),
            status=item["Status"],
            create_date=utc(item["CreateDate"]),
            description=descriptions.get(item["AccessKeyId"]),
        )
        for item in metadata
    ]
    key_ids = {key.access_key_id for key in keys}
    stale = {
        tag_key: value
        for tag_key, value in descriptions.items()
        if ACCESS_KEY_ID_PATTERN.fullmatch(tag_key) and tag_key.startswith("AKIA") and tag_key not in key_ids
    }
    return UserKeys(user_name, True, sort_keys(keys), server_time(headers), stale)


def owner_of_key(client: t.Any, access_key_id: str) -> str | None:
    """The user owning an access key (from GetAccessKeyLastUsed), or None if IAM does not know the key."""
    try:
        response = call(client, "GetAccessKeyLastUsed", AccessKeyId=access_key_id)
    except AwsError as exc:
        if exc.code == "NoSuchEntity":
            return None
        raise
    return response.get("UserName")


CREATE_ATTEMPTS = 3


@dataclasses.dataclass
class Applied:
    actions: list[Action]
    created: AccessKey | None = None
    secret_access_key: str | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)


def apply(client: t.Any, user_name: str, actions: list[Action], known_key_ids: t.Iterable[str] = ()) -> Applied:
    """Carry out ``actions`` in order. A failure after a key was created still hands back its secret,
    unless the failure was setting that key's description: then the key is deleted again.

    ``known_key_ids`` are the user's keys before the run; a key outside them that appears after an
    ambiguous CreateAccessKey failure has a secret nobody received, and is deleted.
    """
    applied = Applied(actions=[])
    known = set(known_key_ids)
    for action in actions:
        try:
            if action.action == "create":
                _create_key(client, user_name, known, applied)
            else:
                _apply_one(client, user_name, action, applied)
        except AwsError as exc:
            if action.action == "describe" and applied.created is not None and action.access_key_id is None:
                _withdraw_created_key(client, user_name, applied, exc)
            if applied.secret_access_key is not None:
                exc.result.update(
                    access_key=applied.created.to_result() if applied.created else None,
                    secret_access_key=applied.secret_access_key,
                )
            exc.result.setdefault("actions", [done.to_result() for done in applied.actions])
            exc.result.setdefault("changed", bool(applied.actions))
            if applied.warnings:
                exc.result.setdefault("warnings", list(applied.warnings))
            raise
    return applied


def _create_key(client: t.Any, user_name: str, known: set[str], applied: Applied) -> None:
    """CreateAccessKey, never resent blindly: after an ambiguous failure, delete what it left, then try again."""
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            response = call(client, "CreateAccessKey", UserName=user_name)["AccessKey"]
        except AmbiguousRequestError as exc:
            orphans = [key for key in read_user_keys(client, user_name).keys if key.access_key_id not in known]
            for orphan in orphans:
                _delete_key(client, user_name, orphan.access_key_id, had_description=False)
                applied.actions.append(Action("delete", orphan.access_key_id))
                applied.warnings.append(
                    f"deleted access key {orphan.access_key_id} of user {user_name}: it was created by a "
                    "CreateAccessKey call whose response was lost, so its secret is unknown"
                )
            if attempt == CREATE_ATTEMPTS:
                raise AwsError(
                    f"{exc.message}; gave up after {CREATE_ATTEMPTS} attempts, leaving no key without a known secret",
                    code=exc.code,
                ) from None
            continue
        applied.created = AccessKey(
            access_key_id=response["AccessKeyId"],
            user_name=response.get("UserName", user_name),
            status=response["Status"],
            create_date=utc(response["CreateDate"]),
        )
        applied.secret_access_key = response["SecretAccessKey"]
        applied.actions.append(Action("create", applied.created.access_key_id))
        return


def _withdraw_created_key(client: t.Any, user_name: str, applied: Applied, failure: AwsError) -> None:
    """The key this run created could not be given its description: delete it, and say so in ``failure``.

    Without its description the key is outside the task's scope, so a re-run would create another one
    beside it. Its secret has not been returned yet, so nobody can be using it. If the delete fails
    too, the key stays and ``apply`` hands back its secret.
    """
    key_id = applied.created.access_key_id
    try:
        _delete_key(client, user_name, key_id, had_description=False)
    except AwsError as exc:
        failure.message += (
            f"; access key {key_id}, created by this task without its description, could not be deleted "
            f"either ({exc.message}): its secret is returned"
        )
        return
    try:  # the description may have been set although its response was lost; nothing depends on this
        call(client, "UntagUser", UserName=user_name, TagKeys=[key_id])
    except AwsError:
        pass
    applied.actions.append(Action("delete", key_id))
    applied.created = None
    applied.secret_access_key = None
    failure.message += (
        f"; access key {key_id}, created by this task, was deleted again, so no key is left without its "
        "description and a re-run starts afresh"
    )


def _apply_one(client: t.Any, user_name: str, action: Action, applied: Applied) -> None:
    key_id = action.access_key_id
    if key_id is None:
        key_id = applied.created.access_key_id if applied.created else None
    if action.action in ("activate", "deactivate"):
        status = ACTIVE if action.action == "activate" else INACTIVE
        call(client, "UpdateAccessKey", UserName=user_name, AccessKeyId=key_id, Status=status)
    elif action.action == "describe":
        call(client, "TagUser", UserName=user_name, Tags=[{"Key": key_id, "Value": action.description}])
        if applied.created is not None and applied.created.access_key_id == key_id:
            applied.created = dataclasses.replace(applied.created, description=action.description)
    elif action.action == "delete":
        _delete_key(client, user_name, key_id, had_description=action.description is not None)
    else:  # pragma: no cover - the planner only emits the actions above
        raise AwsError(f"unknown action {action.action!r}")
    applied.actions.append(Action(action.action, key_id, action.description))


def _delete_key(client: t.Any, user_name: str, key_id: str | None, had_description: bool) -> None:
    try:
        call(client, "DeleteAccessKey", UserName=user_name, AccessKeyId=key_id)
    except AwsError as exc:
        if exc.code != "NoSuchEntity":  # already gone is what we wanted
            raise
    if had_description:
        call(client, "UntagUser", UserName=user_name, TagKeys=[key_id])


def read_last_use(client: t.Any, access_key_id: str) -> LastUse:
    """GetAccessKeyLastUsed for one key."""
    return last_use_from_api(
        call(client, "GetAccessKeyLastUsed", AccessKeyId=access_key_id).get("AccessKeyLastUsed", {})
    )


def last_use_from_api(used: dict[str, t.Any]) -> LastUse:
    """A LastUse from GetAccessKeyLastUsed's AccessKeyLastUsed, with AWS's "N/A" placeholders turned into None."""
    date = used.get("LastUsedDate")
    return LastUse(
        date=utc(date) if date else None,
        service=unless_placeholder(used.get("ServiceName")),
        region=unless_placeholder(used.get("Region")),
    )


def unless_placeholder(value: str | None) -> str | None:
    """None for the placeholders IAM and the credential report use for "no data"."""
    return None if value in (None, "", "N/A", "not_supported", "no_information") else value


# ---------------------------------------------------------------------------------------------
# The iam_access_key task
# ---------------------------------------------------------------------------------------------


def ensure_access_keys(
    params: dict[str, t.Any],
    check_mode: bool = False,
    client: t.Any = None,
    client_factory: t.Callable[..., t.Any] = iam_client,
) -> dict[str, t.Any]:
    """Reconcile a user's access keys with ``params`` (the module's options); return the task result.

    Input is validated before anything else; without ``client``, one is made by ``client_factory``
    from the connection options.
    """
    request = KeyRequest.from_params(params)
    if client is None:
        client = client_factory(**connection_kwargs(params))
    user_name = _resolve_user(client, request)
    if user_name is None:  # state=absent for a key IAM does not know: nothing to do
        return _result(request, request.user_name, [], [], Plan([]))

    current = read_user_keys(client, user_name, always_read_tags=request.state == "absent")
    missing_user_warnings = []
    if not current.exists:
        if request.state == "absent":
            return _result(request, user_name, [], [], Plan([]))
        if not check_mode or request.access_key_id is not None:
            raise AwsError(f"IAM user {user_name} does not exist")
        # A check-mode run of a play whose earlier task creates the user: predict as for a user without keys.
        missing_user_warnings.append(
            f"IAM user {user_name} does not exist yet; check mode predicts this task as for a user without keys, "
            "assuming an earlier task creates the user"
        )
    if request.access_key_id is not None and request.user_name is not None:
        _check_key_owner(client, request, current)

    last_used = {key_id: read_last_use(client, key_id) for key_id in keys_needing_last_use(current.keys, request)}
    try:
        changes = plan(current.keys, request, user_name, current.server_time, last_used, current.stale_descriptions)
    except KeyLimitError as exc:
        for key in exc.keys:
            if key.access_key_id not in last_used:
                last_used[key.access_key_id] = read_last_use(client, key.access_key_id)
        raise AwsError(key_limit_message(user_name, exc.keys, last_used)) from None

    changes = dataclasses.replace(changes, warnings=request.input_warnings() + missing_user_warnings + changes.warnings)
    if check_mode or not changes.actions:
        after = project(current.keys, changes.actions, user_name)
        return _result(request, user_name, current.keys, after, changes)

    applied = apply(client, user_name, changes.actions, known_key_ids=[key.access_key_id for key in current.keys])
    after = project(current.keys, applied.actions, user_name, applied.created)
    done = dataclasses.replace(changes, actions=applied.actions, warnings=changes.warnings + applied.warnings)
    return _result(request, user_name, current.keys, after, done, applied.created, applied.secret_access_key)


def _resolve_user(client: t.Any, request: KeyRequest) -> str | None:
    if request.user_name is not None:
        return request.user_name
    owner = owner_of_key(client, request.access_key_id)
    if owner is None and request.state != "absent":
        raise AwsError(f"access key {request.access_key_id} does not exist")
    return owner


def _check_key_owner(client: t.Any, request: KeyRequest, current: UserKeys) -> None:
    if any(key.access_key_id == request.access_key_id for key in current.keys):
        return
    owner = owner_of_key(client, request.access_key_id)
    if owner is not None and owner != current.user_name:
        raise AwsError(f"access key {request.access_key_id} belongs to user {owner}, not {current.user_name}")


def _result(
    request: KeyRequest,
    user_name: str | None,
    before: list[AccessKey],
    after: list[AccessKey],
    changes: Plan,
    created: AccessKey | None = None,
    secret_access_key: str | None = None,
) -> dict[str, t.Any]:
    result: dict[str, t.Any] = {
        "changed": bool(changes.actions),
        "user_name": user_name,
        "actions": [action.to_result() for action in changes.actions],
        "access_keys": [key.to_result() for key in after],
        "rotated": changes.rotated,
        "retained_access_key_ids": list(changes.retained),
        "diff": {
            "before": {"access_keys": [key.to_result() for key in before]},
            "after": {"access_keys": [key.to_result() for key in after]},
        },
    }
    if changes.warnings:
        result["warnings"] = list(changes.warnings)
    planned_new_key = next((key for key in after if key.access_key_id is None), None)
    focus = key_of_interest(after, request, created or planned_new_key)
    if focus is not None:
        result["access_key"] = focus.to_result()
    if secret_access_key is not None:
        result["secret_access_key"] = secret_access_key
    return result
