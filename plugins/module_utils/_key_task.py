# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""The keyguard.aws.iam_access_key task: its options, and run(), shared by the module and the in-process path."""

from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.keyguard.aws.plugins.module_utils._aws import (
    CONNECTION_ARGUMENT_RULES,
    CONNECTION_ARGUMENT_SPEC,
    AwsError,
    aws_client,
    connection_kwargs,
)
from ansible_collections.keyguard.aws.plugins.module_utils._key_apply import apply
from ansible_collections.keyguard.aws.plugins.module_utils._key_plan import (
    KeyLimitError,
    KeyRequest,
    Plan,
    key_limit_message,
    keys_needing_last_use,
    plan,
    project,
    target_key,
)
from ansible_collections.keyguard.aws.plugins.module_utils._key_reads import (
    UserKeys,
    owner_of_key,
    read_last_use,
    read_user_keys,
)
from ansible_collections.keyguard.aws.plugins.module_utils._key_types import USER_AND_KEY_OPTIONS, AccessKey
from ansible_collections.keyguard.aws.plugins.module_utils._secret_store import (
    SECRET_STORE_OPTIONS,
    SecretStore,
    open_store,
)

ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    **USER_AND_KEY_OPTIONS,
    "description": {"type": "str"},
    "state": {"type": "str", "choices": ["present", "active", "inactive", "absent"], "default": "present"},
    "rotate_after_days": {"type": "int"},
    "previous_keys": {"type": "str", "choices": ["keep", "deactivate", "delete"], "default": "keep", "no_log": False},
    "previous_keys_idle_hours": {"type": "int", "default": 0, "no_log": False},
    "secret_store": {"type": "dict", "options": SECRET_STORE_OPTIONS, "no_log": False},
    **CONNECTION_ARGUMENT_SPEC,
}
ARGUMENT_RULES: dict[str, list[tuple[str, ...]]] = {
    **CONNECTION_ARGUMENT_RULES,
    "required_one_of": [("user_name", "id")],
}


def run(
    params: dict[str, t.Any], check_mode: bool, diff: bool, client_factory: t.Callable[..., t.Any] = aws_client
) -> dict[str, t.Any]:
    """Reconcile a user's access keys with ``params`` (the validated options); return the task result.

    Parse (no AWS call before the input is known to be good), read the keys, plan, apply unless check mode.
    """
    request = KeyRequest.from_params(params)
    iam = client_factory("iam", **connection_kwargs(params))
    store = open_store(request.secret_store, connection_kwargs(params), client_factory)
    user_name = request.user_name or owner_of_key(iam, request.access_key_id)
    if user_name is None:
        if request.state != "absent":
            raise AwsError(f"access key {request.access_key_id} does not exist")
        return _result(request, None, [], [], Plan([]), diff)  # absent for a key IAM does not know

    current, warnings = _read_current(iam, request, user_name, check_mode)
    if current is None:
        return _result(request, user_name, [], [], Plan([]), diff)  # absent for a user IAM does not know
    held = _read_store(store, current)
    changes = _plan(iam, request, current, store)
    changes = dataclasses.replace(changes, warnings=request.input_warnings() + warnings + changes.warnings)
    if check_mode or not changes.actions:
        after = project(current.keys, changes.actions, user_name)
        return _result(request, user_name, current.keys, after, changes, diff, store=store, held=held)

    applied = apply(iam, user_name, changes.actions, [key.access_key_id for key in current.keys], store)
    after = project(current.keys, applied.actions, user_name, applied.created)
    done = dataclasses.replace(changes, actions=applied.actions, warnings=changes.warnings + applied.warnings)
    secret = None if store else applied.secret_access_key  # with a store, the secret never reaches the result
    return _result(request, user_name, current.keys, after, done, diff, applied.created, secret, store, held)


def _read_store(store: SecretStore | None, current: UserKeys) -> str | None:
    """The key id the store holds (one read call); a secret pending deletion stops the task before any change."""
    if store is None:
        return None
    state = store.describe([key.access_key_id for key in current.keys])
    if state.pending_deletion:
        raise AwsError(
            f"{store.spec.destination} is scheduled for deletion; restore it (secretsmanager:RestoreSecret) or "
            "name another secret in secret_store.name"
        )
    return state.key_id


def _read_current(
    iam: t.Any, request: KeyRequest, user_name: str, check_mode: bool
) -> tuple[UserKeys | None, list[str]]:
    """The user's keys, None when a missing user satisfies the request, and warnings."""
    current = read_user_keys(iam, user_name, always_read_tags=request.state == "absent")
    if current.exists:
        if request.access_key_id is not None and request.user_name is not None:
            _check_key_owner(iam, request, current)
        return current, []
    if request.state == "absent":
        return None, []
    if not check_mode or request.access_key_id is not None:
        raise AwsError(f"IAM user {user_name} does not exist")
    # A check-mode run of a play whose earlier task creates the user: predict as for a user without keys.
    return current, [
        f"IAM user {user_name} does not exist yet; check mode predicts this task as for a user without keys, "
        "assuming an earlier task creates the user"
    ]


def _plan(iam: t.Any, request: KeyRequest, current: UserKeys, store: SecretStore | None) -> Plan:
    """The plan, with the last use of the keys the idle guard needs; at the key limit, the error names each key's."""
    last_used = {key_id: read_last_use(iam, key_id) for key_id in keys_needing_last_use(current.keys, request)}
    try:
        return plan(
            current.keys,
            request,
            current.user_name,
            current.server_time,
            last_used,
            current.stale_descriptions,
            store.state if store else None,
        )
    except KeyLimitError as exc:
        for key in exc.keys:
            if key.access_key_id not in last_used:
                last_used[key.access_key_id] = read_last_use(iam, key.access_key_id)
        raise AwsError(key_limit_message(current.user_name, exc.keys, last_used)) from None


def _check_key_owner(iam: t.Any, request: KeyRequest, current: UserKeys) -> None:
    if any(key.access_key_id == request.access_key_id for key in current.keys):
        return
    owner = owner_of_key(iam, request.access_key_id)
    if owner is not None and owner != current.user_name:
        raise AwsError(f"access key {request.access_key_id} belongs to user {owner}, not {current.user_name}")


def _result(
    request: KeyRequest,
    user_name: str | None,
    before: list[AccessKey],
    after: list[AccessKey],
    changes: Plan,
    diff: bool,
    created: AccessKey | None = None,
    secret_access_key: str | None = None,
    store: SecretStore | None = None,
    held: str | None = None,
) -> dict[str, t.Any]:
    result: dict[str, t.Any] = {
        "changed": bool(changes.actions),
        "user_name": user_name,
        "actions": [action.to_result() for action in changes.actions],
        "access_keys": [key.to_result() for key in after],
        "rotated": changes.rotated,
        "retained_access_key_ids": list(changes.retained),
    }
    stored = next((action for action in changes.actions if action.action == "store"), None)
    if diff:
        result["diff"] = {
            "before": {"access_keys": [key.to_result() for key in before]},
            "after": {"access_keys": [key.to_result() for key in after]},
        }
        if store is not None:  # the destination and the key id moving to it, never the secret
            result["diff"]["before"]["secret_store"] = {"destination": store.spec.destination, "access_key_id": held}
            result["diff"]["after"]["secret_store"] = {
                "destination": store.spec.destination,
                "access_key_id": stored.access_key_id if stored else held,
            }
    if changes.warnings:
        result["warnings"] = list(changes.warnings)
    planned_new_key = next((key for key in after if key.access_key_id is None), None)
    target = target_key(after, request, created or planned_new_key)
    if target is not None:
        result["access_key"] = target.to_result()
    if store is not None:
        result["secret_store"] = store.result()
    if secret_access_key is not None:
        result["secret_access_key"] = secret_access_key
    return result
