# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""The iam_access_key planner: a pure function from a user's keys and the request to the ordered actions.

Check mode returns the plan without applying it, diff mode shows the keys it leads to (``project``), and ``changed``
is "the plan is not empty". Nothing here calls AWS.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing as t

from ansible_collections.keyguard.aws.plugins.module_utils._aws import AwsError
from ansible_collections.keyguard.aws.plugins.module_utils._key_types import (
    ACTIVE,
    INACTIVE,
    MAX_KEYS_PER_USER,
    AccessKey,
    Action,
    ActionKind,
    LastUse,
    keys_in_scope,
    request_fields,
    sort_keys,
    validate_description,
    validate_names,
    whole_days,
)
from ansible_collections.keyguard.aws.plugins.module_utils._secret_store import StoreSpec, StoreState


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
    secret_store: StoreSpec | None = None

    @classmethod
    def from_params(cls, params: dict[str, t.Any]) -> KeyRequest:
        """From the module's options as the argument spec validated them (choices, types and defaults applied)."""
        fields = request_fields(cls, {"secret_store": None, **params})
        request = cls(**{**fields, "secret_store": StoreSpec.from_option(fields["secret_store"])})
        request.validate()
        return request

    def input_warnings(self) -> list[str]:
        """Options given that cannot take effect together: harmless, so said rather than refused."""
        if self.previous_keys_idle_hours and self.previous_keys == "keep":
            return ["previous_keys_idle_hours has no effect with previous_keys=keep: no previous key is retired"]
        return []

    @property
    def manages_lifecycle(self) -> bool:
        """The task rotates keys (by age, or to keep a secret store current) or manages previous keys, so it may
        delete a key to make room."""
        return self.rotate_after_days is not None or self.previous_keys != "keep" or self.secret_store is not None

    def validate(self) -> None:
        """Reject, before any AWS call, what the argument spec cannot express: ranges, combinations, IAM's rules."""
        if self.rotate_after_days is not None and self.rotate_after_days < 1:
            raise AwsError(f"rotate_after_days must be at least 1, got {self.rotate_after_days}")
        if self.previous_keys_idle_hours < 0:
            raise AwsError(f"previous_keys_idle_hours must be 0 or more, got {self.previous_keys_idle_hours}")
        if self.rotate_after_days is not None or self.previous_keys != "keep" or self.previous_keys_idle_hours:
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
        if self.secret_store is not None and (self.access_key_id is not None or self.state in ("inactive", "absent")):
            raise AwsError(
                "secret_store can only be used with state=present or state=active and without id: the store "
                "receives the secret of the key the task creates for the user's keys in scope"
            )
        if self.user_name is None and self.access_key_id is None:  # both given as null: the argument spec counts them
            raise AwsError("one of user_name or id is required")
        validate_names(self.user_name, self.access_key_id)
        validate_description(self.description)


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
class Plan:
    """What a task will do: ordered actions, plus what the caller reports beside them."""

    actions: list[Action]
    rotated: bool = False
    retained: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)


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
    store: StoreState | None = None,
) -> Plan:
    """The ordered actions that take ``keys`` (all of the user's keys) to the requested state.

    ``now`` is IAM's clock (only rotation needs it); ``last_used`` maps key ids to their last use
    (only the idle guard needs it, see ``keys_needing_last_use``); ``stale_descriptions`` are
    description tags of keys already gone, which ``absent`` removes; ``store`` is what the secret store
    holds (with ``secret_store``). Raises AwsError, before anything changes, when the request cannot be met.
    """
    if request.state == "absent" and stale_descriptions:
        stale = [
            Action(ActionKind.DELETE, key_id, description)
            for key_id, description in sorted(stale_descriptions.items())
            if key_id == request.access_key_id
            or (request.access_key_id is None and request.description in (None, description))
        ]
        if stale:
            return Plan(plan(keys, request, user_name).actions + stale)
    if request.access_key_id is not None:
        return Plan(_plan_for_key_id(keys, request, user_name))
    return _plan_for_scope(
        keys, request, user_name, now or datetime.datetime.now(datetime.timezone.utc), last_used or {}, store
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
        return [Action(ActionKind.DELETE, key.access_key_id, key.description)]

    actions = []
    if request.state == "active" and key.status != ACTIVE:
        actions.append(Action(ActionKind.ACTIVATE, key.access_key_id))
    elif request.state == "inactive" and key.status != INACTIVE:
        actions.append(Action(ActionKind.DEACTIVATE, key.access_key_id))
    if request.description is not None and key.description != request.description:
        actions.append(Action(ActionKind.DESCRIBE, key.access_key_id, request.description))
    return actions


def _plan_for_scope(
    keys: list[AccessKey],
    request: KeyRequest,
    user_name: str,
    now: datetime.datetime,
    last_used: dict[str, LastUse],
    store: StoreState | None = None,
) -> Plan:
    scope = sort_keys(keys_in_scope(keys, request.description))
    if request.state == "absent":
        return Plan([Action(ActionKind.DELETE, key.access_key_id, key.description) for key in scope])
    if request.state == "inactive":
        return Plan([Action(ActionKind.DEACTIVATE, key.access_key_id) for key in scope if key.status != INACTIVE])

    current = current_key(scope)
    due = current is not None and request.rotate_after_days is not None
    due = due and age_days(current, now) >= request.rotate_after_days
    warnings = _store_drift(request, user_name, current, store) if not due else []
    rotate = due or bool(warnings)
    if request.state == "present" and request.secret_store is None:
        needs_key = not scope or rotate
    else:  # active: an Inactive key is never re-activated implicitly, it may be compromised (a store needs one too)
        needs_key = current is None or rotate

    actions: list[Action] = []
    remaining = list(keys)
    if needs_key:
        room = _make_room(remaining, scope, current, request, user_name, now, last_used)
        remaining = [key for key in remaining if key.access_key_id not in {action.access_key_id for action in room}]
        actions += [*room, Action(ActionKind.CREATE, None)]
        if request.description is not None:
            actions.append(Action(ActionKind.DESCRIBE, None, request.description))
        if request.secret_store is not None:  # before any previous key is retired
            actions.append(Action(ActionKind.STORE, None, destination=request.secret_store.destination))
        kept_id = None  # the key created now becomes the current key
    else:
        # Keep the current key; when there is none (state=present with only Inactive keys), keep the newest.
        kept_id = (current or scope[-1]).access_key_id

    retained: list[str] = []
    if request.previous_keys != "keep":
        previous = [
            key for key in sort_keys(keys_in_scope(remaining, request.description)) if key.access_key_id != kept_id
        ]
        retirements, retained, kept_warnings = _retire_previous_keys(previous, request, now, last_used)
        actions += retirements
        warnings += kept_warnings
    return Plan(actions, rotated=rotate, retained=retained, warnings=warnings)


def _store_drift(request: KeyRequest, user_name: str, current: AccessKey | None, store: StoreState | None) -> list[str]:
    """Why the current key must be replaced for the secret store (it does not hold it), as a warning; or nothing."""
    if request.secret_store is None or current is None or (store is not None and store.key_id == current.access_key_id):
        return []
    if store is None or not store.exists:
        holds = "does not exist"
    elif store.key_id is None:
        holds = "holds no key this task stored for the user"
    else:
        holds = f"holds access key {store.key_id} instead"
    return [
        f"created a new access key for user {user_name}: its current key {current.access_key_id} is of no use to "
        f"the consumers of {request.secret_store.destination}, which {holds}; the old key is now a previous key"
    ]


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
    return [Action(ActionKind.DELETE, oldest.access_key_id, oldest.description)]


def _is_idle(key: AccessKey, request: KeyRequest, now: datetime.datetime, last_used: dict[str, LastUse]) -> bool:
    """The idle guard: never used, or last used at least previous_keys_idle_hours ago.

    To the second, as key ages are (see whole_days): ``now`` is IAM's whole-second clock.
    """
    use = last_used.get(key.access_key_id, LastUse())
    if use.date is None:
        return True
    idle = now.replace(microsecond=0) - use.date.replace(microsecond=0)
    return idle.total_seconds() >= request.previous_keys_idle_hours * 3600


def _retire_previous_keys(
    previous: list[AccessKey], request: KeyRequest, now: datetime.datetime, last_used: dict[str, LastUse]
) -> tuple[list[Action], list[str], list[str]]:
    """The actions that retire ``previous`` per ``previous_keys``, the ids the idle guard keeps, and why."""
    actions: list[Action] = []
    retained: list[str] = []
    warnings: list[str] = []
    for key in previous:
        if request.previous_keys == "deactivate" and key.status == INACTIVE:
            continue
        if not _is_idle(key, request, now, last_used):
            retained.append(key.access_key_id)
            warnings.append(
                f"kept previous access key {key.access_key_id} of user {key.user_name} ({key.status}): "
                f"{last_used[key.access_key_id].summary()}, "
                f"less than previous_keys_idle_hours={request.previous_keys_idle_hours} ago"
            )
        elif request.previous_keys == "deactivate":
            actions.append(Action(ActionKind.DEACTIVATE, key.access_key_id))
        else:
            actions.append(Action(ActionKind.DELETE, key.access_key_id, key.description))
    return actions, retained, warnings


def project(
    keys: list[AccessKey], actions: list[Action], user_name: str, created: AccessKey | None = None
) -> list[AccessKey]:
    """The keys after ``actions``; ``created`` stands for the key a ``create`` makes (a placeholder if None)."""
    result = {key.access_key_id: key for key in keys}
    new_key = created or AccessKey(None, user_name, ACTIVE, None)
    for action in actions:
        if action.action == ActionKind.CREATE:
            result[new_key.access_key_id] = new_key
            continue
        key_id = action.access_key_id if action.access_key_id is not None else new_key.access_key_id
        if action.action == ActionKind.DELETE:
            result.pop(key_id, None)  # an orphan deleted after a lost CreateAccessKey response was never listed
        elif action.action in (ActionKind.ACTIVATE, ActionKind.DEACTIVATE):
            status = ACTIVE if action.action == ActionKind.ACTIVATE else INACTIVE
            result[key_id] = dataclasses.replace(result[key_id], status=status)
        elif action.action == ActionKind.DESCRIBE:
            result[key_id] = dataclasses.replace(result[key_id], description=action.description)
    return sort_keys(result.values())


def target_key(keys: list[AccessKey], request: KeyRequest, created: AccessKey | None) -> AccessKey | None:
    """The key the task is about: the id key, the created key, else the newest Active key in scope, else the newest."""
    if request.access_key_id is not None:
        return next((key for key in keys if key.access_key_id == request.access_key_id), None)
    if created is not None:
        return next((key for key in keys if key.access_key_id == created.access_key_id), created)
    scope = sort_keys(keys_in_scope(keys, request.description))
    return current_key(scope) or (scope[-1] if scope else None)
