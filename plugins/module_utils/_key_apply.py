# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""Carrying out a plan's actions against IAM, so that no key is ever left whose secret nobody has."""

from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.keyguard.aws.plugins.module_utils._aws import AmbiguousRequestError, AwsError
from ansible_collections.keyguard.aws.plugins.module_utils._aws_calls import call
from ansible_collections.keyguard.aws.plugins.module_utils._key_reads import read_user_keys
from ansible_collections.keyguard.aws.plugins.module_utils._key_types import (
    ACTIVE,
    INACTIVE,
    AccessKey,
    Action,
    ActionKind,
)
from ansible_collections.keyguard.aws.plugins.module_utils._secret_store import SecretStore

CREATE_ATTEMPTS = 3


@dataclasses.dataclass
class Applied:
    """What was done so far: the actions carried out (with real key ids), the key created and its secret."""

    actions: list[Action]
    created: AccessKey | None = None
    secret_access_key: str | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)


def apply(
    client: t.Any,
    user_name: str,
    actions: list[Action],
    known_key_ids: t.Iterable[str] = (),
    store: SecretStore | None = None,
) -> Applied:
    """Carry out ``actions`` in order. A failure after a key was created still hands back its secret,
    unless the failure was setting that key's description: then the key is deleted again.

    ``known_key_ids`` are the user's keys before the run; a key outside them that appears after an
    ambiguous CreateAccessKey failure has a secret nobody received, and is deleted. With a secret ``store``
    the secret is never handed back: the ``store`` action writes it, and if that fails the key is deleted again.
    """
    applied = Applied(actions=[])
    known = set(known_key_ids)
    for action in actions:
        try:
            if action.action == ActionKind.CREATE:
                _create_key(client, user_name, known, applied)
            elif action.action == ActionKind.STORE:
                _store_created_key(client, user_name, store, applied)
            else:
                _apply_one(client, user_name, action, applied)
        except AwsError as exc:
            if action.action == ActionKind.DESCRIBE and applied.created is not None and action.access_key_id is None:
                _withdraw_created_key(client, user_name, applied, exc, hand_back=store is None)
            if applied.secret_access_key is not None and store is None:
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
                delete_key(client, user_name, orphan.access_key_id, had_description=False)
                applied.actions.append(Action(ActionKind.DELETE, orphan.access_key_id))
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
        applied.created = AccessKey.from_api(response, user_name)
        applied.secret_access_key = response["SecretAccessKey"]
        applied.actions.append(Action(ActionKind.CREATE, applied.created.access_key_id))
        return


def _withdraw_created_key(
    client: t.Any, user_name: str, applied: Applied, failure: AwsError, hand_back: bool = True, why: str = ""
) -> None:
    """The key this run created cannot be kept: delete it, and say so in ``failure``.

    Without its description the key is outside the task's scope, so a re-run would create another one
    beside it; without its secret in the store nobody holds it. Its secret has not been returned, so nobody can be
    using it. If the delete fails too, the key stays, and ``apply`` hands back its secret when ``hand_back``.
    """
    key_id = applied.created.access_key_id
    try:
        delete_key(client, user_name, key_id, had_description=False)
    except AwsError as exc:
        if hand_back:
            failure.message += (
                f"; access key {key_id}, created by this task {why or 'without its description'}, could not be "
                f"deleted either ({exc.message}): its secret is returned"
            )
        else:
            failure.message += (
                f"; access key {key_id}, created by this task {why or 'without its description'}, could not be "
                f"deleted either ({exc.message}): delete it, nobody holds its secret (it is not shown)"
            )
            applied.secret_access_key = None
        return
    try:  # the description may have been set although its response was lost; nothing depends on this
        call(client, "UntagUser", UserName=user_name, TagKeys=[key_id])
    except AwsError:
        pass
    applied.actions.append(Action(ActionKind.DELETE, key_id))
    applied.created = None
    applied.secret_access_key = None
    if why:
        failure.message += (
            f"; access key {key_id}, created by this task, was deleted again, so no key is left whose secret "
            "nobody holds"
        )
    else:
        failure.message += (
            f"; access key {key_id}, created by this task, was deleted again, so no key is left without its "
            "description and a re-run starts afresh"
        )


def _store_created_key(client: t.Any, user_name: str, store: SecretStore, applied: Applied) -> None:
    """Write the created key's secret to the store; if that fails, delete the key (its secret is never shown).

    A write whose answer was lost may have happened: the store is asked once before the key is given up.
    """
    key = applied.created
    secret = applied.secret_access_key
    try:
        store.write(key, secret)
    except AwsError as exc:
        exc.message = exc.message.replace(secret, "********")  # defence in depth: no service echoes it
        try:
            held = store.describe([key.access_key_id]).key_id
        except AwsError:
            held = None
        if held != key.access_key_id:
            _withdraw_created_key(client, user_name, applied, exc, hand_back=False, why="whose secret was not stored")
            raise
        applied.warnings.append(
            f"{store.spec.destination}: the write of access key {key.access_key_id} failed ({exc.message}), "
            "but the store holds it"
        )
    applied.actions.append(Action(ActionKind.STORE, key.access_key_id, destination=store.spec.destination))


def _apply_one(client: t.Any, user_name: str, action: Action, applied: Applied) -> None:
    key_id = action.access_key_id
    if key_id is None:
        key_id = applied.created.access_key_id if applied.created else None
    if action.action in (ActionKind.ACTIVATE, ActionKind.DEACTIVATE):
        status = ACTIVE if action.action == ActionKind.ACTIVATE else INACTIVE
        call(client, "UpdateAccessKey", UserName=user_name, AccessKeyId=key_id, Status=status)
    elif action.action == ActionKind.DESCRIBE:
        call(client, "TagUser", UserName=user_name, Tags=[{"Key": key_id, "Value": action.description}])
        if applied.created is not None and applied.created.access_key_id == key_id:
            applied.created = dataclasses.replace(applied.created, description=action.description)
    elif action.action == ActionKind.DELETE:
        delete_key(client, user_name, key_id, had_description=action.description is not None)
    else:  # pragma: no cover - the planner only emits the actions above
        raise AwsError(f"unknown action {action.action!r}")
    applied.actions.append(Action(action.action, key_id, action.description))


def delete_key(client: t.Any, user_name: str, key_id: str | None, had_description: bool) -> None:
    """DeleteAccessKey (already gone is what we wanted), then its description tag."""
    call(client, "DeleteAccessKey", absent_ok=True, UserName=user_name, AccessKeyId=key_id)
    if had_description:
        call(client, "UntagUser", UserName=user_name, TagKeys=[key_id])
