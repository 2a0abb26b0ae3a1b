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
    AwsError,
    connection_kwargs,
    describe_failure,
    error_code,
    iam_client,
    is_aws_failure,
)

STATES = ("present", "active", "inactive", "absent")
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

    @classmethod
    def from_params(cls, params: dict[str, t.Any]) -> KeyRequest:
        request = cls(
            user_name=params.get("user_name") or None,
            access_key_id=params.get("id") if params.get("id") is not None else None,
            description=params.get("description"),
            state=params.get("state") or "present",
        )
        request.validate()
        return request

    def validate(self) -> None:
        """Reject bad input before any AWS call."""
        if self.state not in STATES:
            raise AwsError(f"state must be one of {', '.join(STATES)}, got {self.state!r}")
        if self.user_name is None and self.access_key_id is None:
            raise AwsError("one of user_name or id is required")
        if self.user_name is not None and not USER_NAME_PATTERN.fullmatch(self.user_name):
            raise AwsError(
                f"user_name {self.user_name!r} is not a valid IAM user name "
                "(1-64 characters: letters, digits and + = , . @ _ -)"
            )
        if self.access_key_id is not None and not ACCESS_KEY_ID_PATTERN.fullmatch(self.access_key_id):
            raise AwsError(
                f"id {self.access_key_id!r} is not a valid access key id (16-128 upper-case letters and digits)"
            )
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


def key_limit_message(user_name: str, keys: list[AccessKey]) -> str:
    listed = ", ".join(f"{key.access_key_id} ({key.status})" for key in sort_keys(keys))
    return (
        f"cannot create an access key for user {user_name}: it already has {len(keys)} keys, "
        f"the most IAM allows ({listed}); delete one or pass its id"
    )


def plan(keys: list[AccessKey], request: KeyRequest, user_name: str) -> list[Action]:
    """The ordered actions that take ``keys`` (all of the user's keys) to the requested state.

    Raises AwsError, before anything changes, when the request cannot be met.
    """
    if request.access_key_id is not None:
        return _plan_for_key_id(keys, request, user_name)
    return _plan_for_scope(keys, request, user_name)


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


def _plan_for_scope(keys: list[AccessKey], request: KeyRequest, user_name: str) -> list[Action]:
    scope = sort_keys(keys_in_scope(keys, request.description))
    if request.state == "absent":
        return [Action("delete", key.access_key_id, key.description) for key in scope]
    if request.state == "inactive":
        return [Action("deactivate", key.access_key_id) for key in scope if key.status != INACTIVE]

    if request.state == "present":
        needs_key = not scope
    else:  # active: an Inactive key is never re-activated implicitly, it may be compromised
        needs_key = not any(key.status == ACTIVE for key in scope)
    if not needs_key:
        return []
    if len(keys) >= MAX_KEYS_PER_USER:
        raise AwsError(key_limit_message(user_name, keys))
    actions = [Action("create", None)]
    if request.description is not None:
        actions.append(Action("describe", None, request.description))
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
        key = result[key_id]
        if action.action == "delete":
            del result[key_id]
        elif action.action == "activate":
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


def _utc(value: datetime.datetime) -> datetime.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


@dataclasses.dataclass
class UserKeys:
    user_name: str
    exists: bool
    keys: list[AccessKey]
    server_time: datetime.datetime | None = None


def read_user_keys(client: t.Any, user_name: str) -> UserKeys:
    """All of a user's keys with their descriptions. A missing user gives ``exists=False``."""
    try:
        metadata, headers = paginate(client, "ListAccessKeys", "AccessKeyMetadata", UserName=user_name)
    except AwsError as exc:
        if exc.code == "NoSuchEntity":
            return UserKeys(user_name, exists=False, keys=[])
        raise
    descriptions: dict[str, str] = {}
    if metadata:
        tags, _headers = paginate(client, "ListUserTags", "Tags", UserName=user_name)
        descriptions = {tag["Key"]: tag["Value"] for tag in tags}
    keys = [
        AccessKey(
            access_key_id=item["AccessKeyId"],
            user_name=item.get("UserName", user_name),
            status=item["Status"],
            create_date=_utc(item["CreateDate"]),
            description=descriptions.get(item["AccessKeyId"]),
        )
        for item in metadata
    ]
    return UserKeys(user_name, exists=True, keys=sort_keys(keys), server_time=server_time(headers))


def owner_of_key(client: t.Any, access_key_id: str) -> str | None:
    """The user owning an access key (from GetAccessKeyLastUsed), or None if IAM does not know the key."""
    try:
        response = call(client, "GetAccessKeyLastUsed", AccessKeyId=access_key_id)
    except AwsError as exc:
        if exc.code == "NoSuchEntity":
            return None
        raise
    return response.get("UserName")


@dataclasses.dataclass
class Applied:
    actions: list[Action]
    created: AccessKey | None = None
    secret_access_key: str | None = None


def apply(client: t.Any, user_name: str, actions: list[Action]) -> Applied:
    """Carry out ``actions`` in order. A failure after a key was created still hands back its secret."""
    applied = Applied(actions=[])
    for action in actions:
        try:
            _apply_one(client, user_name, action, applied)
        except AwsError as exc:
            if applied.secret_access_key is not None:
                exc.result.update(
                    access_key=applied.created.to_result() if applied.created else None,
                    secret_access_key=applied.secret_access_key,
                )
            exc.result.setdefault("actions", [done.to_result() for done in applied.actions])
            raise
    return applied


def _apply_one(client: t.Any, user_name: str, action: Action, applied: Applied) -> None:
    key_id = action.access_key_id
    if key_id is None and action.action != "create":
        key_id = applied.created.access_key_id if applied.created else None
    if action.action == "create":
        response = call(client, "CreateAccessKey", UserName=user_name)["AccessKey"]
        applied.created = AccessKey(
            access_key_id=response["AccessKeyId"],
            user_name=response.get("UserName", user_name),
            status=response["Status"],
            create_date=_utc(response["CreateDate"]),
        )
        applied.secret_access_key = response["SecretAccessKey"]
        key_id = applied.created.access_key_id
    elif action.action in ("activate", "deactivate"):
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


# ---------------------------------------------------------------------------------------------
# The iam_access_key task
# ---------------------------------------------------------------------------------------------


def ensure_access_keys(params: dict[str, t.Any], check_mode: bool = False, client: t.Any = None) -> dict[str, t.Any]:
    """Reconcile a user's access keys with ``params`` (the module's options); return the task result.

    Input is validated before anything else; ``client`` defaults to one built from the connection options.
    """
    request = KeyRequest.from_params(params)
    if client is None:
        client = iam_client(**connection_kwargs(params))
    user_name = _resolve_user(client, request)
    if user_name is None:  # state=absent for a key IAM does not know: nothing to do
        return _result(request, request.user_name, [], [], [], None, None)

    current = read_user_keys(client, user_name)
    if not current.exists:
        if request.state == "absent":
            return _result(request, user_name, [], [], [], None, None)
        raise AwsError(f"IAM user {user_name} does not exist")
    if request.access_key_id is not None and request.user_name is not None:
        _check_key_owner(client, request, current)

    actions = plan(current.keys, request, user_name)
    if check_mode or not actions:
        after = project(current.keys, actions, user_name)
        return _result(request, user_name, current.keys, after, actions, None, None)

    applied = apply(client, user_name, actions)
    after = project(current.keys, applied.actions, user_name, applied.created)
    return _result(request, user_name, current.keys, after, applied.actions, applied.created, applied.secret_access_key)


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
    actions: list[Action],
    created: AccessKey | None,
    secret_access_key: str | None,
) -> dict[str, t.Any]:
    result: dict[str, t.Any] = {
        "changed": bool(actions),
        "user_name": user_name,
        "actions": [action.to_result() for action in actions],
        "access_keys": [key.to_result() for key in after],
        "diff": {
            "before": {"access_keys": [key.to_result() for key in before]},
            "after": {"access_keys": [key.to_result() for key in after]},
        },
    }
    planned_new_key = next((key for key in after if key.access_key_id is None), None)
    focus = key_of_interest(after, request, created or planned_new_key)
    if focus is not None:
        result["access_key"] = focus.to_result()
    if secret_access_key is not None:
        result["secret_access_key"] = secret_access_key
    return result
