# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""Acting as an assumed role: botocore's own assume-role machinery (refreshing credentials), one STS call per role.

The base credentials are the task's usual ones (keys, profile, environment). The assumed role's credentials
are fetched once, when the first client for the role is built (so a role that cannot be assumed fails before any
other call), and botocore refreshes them before they expire, so a long whole-account report never fails on an
expired session. They are kept per base identity and role for the life of the process: the IAM and secret store
clients of a task, and every loop item of an in-process worker, share one AssumeRole.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import typing as t

from ansible_collections.keyguard.aws.plugins.module_utils._errors import AwsError

try:
    import botocore.credentials
    import botocore.exceptions
except ImportError:  # pragma: no cover - the client factory reports the missing SDK first
    pass

DEFAULT_SESSION_NAME = "keyguard-aws"
MIN_DURATION_SECONDS = 900
MAX_DURATION_SECONDS = 43200
ROLE_ARN_PATTERN = re.compile(r"arn:[\w-]+:iam::\d{12}:role/[\w+=,.@/-]+")
SESSION_NAME_PATTERN = re.compile(r"[\w+=,.@-]{2,64}", re.ASCII)

# (base identity, role) -> botocore's refreshing credentials for the role: a cache of the process.
_ASSUMED: dict[str, t.Any] = {}


def assume_role_options(values: dict[str, t.Any]) -> dict[str, t.Any] | None:
    """The AssumeRole settings from the connection options (empty strings already unset), validated; None if no
    role is to be assumed. Pure."""
    role_arn = values.get("assume_role_arn")
    if not role_arn:
        return None
    if not ROLE_ARN_PATTERN.fullmatch(role_arn):
        raise AwsError(f"assume_role_arn {role_arn!r} is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)")
    session_name = values.get("assume_role_session_name") or DEFAULT_SESSION_NAME
    if not SESSION_NAME_PATTERN.fullmatch(session_name):
        raise AwsError(f"assume_role_session_name {session_name!r} must be 2-64 letters, digits and + = , . @ _ -")
    duration = values.get("assume_role_duration_seconds") or 3600
    if not MIN_DURATION_SECONDS <= duration <= MAX_DURATION_SECONDS:
        raise AwsError(
            f"assume_role_duration_seconds must be between {MIN_DURATION_SECONDS} and {MAX_DURATION_SECONDS}, "
            f"got {duration}"
        )
    options = {"RoleArn": role_arn, "RoleSessionName": session_name, "DurationSeconds": duration}
    if values.get("assume_role_external_id"):
        options["ExternalId"] = values["assume_role_external_id"]
    return options


def assumed_role_credentials(
    session: t.Any, role: dict[str, t.Any], base: dict[str, t.Any], sts_client_kwargs: dict[str, t.Any]
) -> t.Any:
    """Refreshing credentials of ``role`` (``assume_role_options``), assumed with ``base`` (the task's keys, or
    the session's own chain when they are None). ``sts_client_kwargs``: endpoint, TLS and config for STS."""
    identity = [
        session.profile,
        base.get("access_key"),
        _digest(base.get("secret_key")),
        _digest(base.get("session_token")),
    ]
    cache_key = json.dumps([identity, role, sts_client_kwargs.get("endpoint_url")], sort_keys=True, default=str)
    credentials = _ASSUMED.get(cache_key)
    if credentials is not None:
        return credentials
    if base.get("access_key"):
        source = botocore.credentials.Credentials(base["access_key"], base["secret_key"], base.get("session_token"))
    else:
        # From the session's resolver, not session.get_credentials(): a session keeps the first credentials it
        # resolves, and it must resolve the role's once they are registered as its provider (else its clients would
        # act as the base credentials).
        source = session.get_component("credential_provider").load_credentials()
        if source is None:
            raise AwsError(
                f"sts:AssumeRole of role {role['RoleArn']} failed: no AWS credentials found to assume it with; set "
                "access_key and secret_key, profile, or the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE "
                "environment variables"
            )
    extra_args = {name: value for name, value in role.items() if name != "RoleArn"}
    fetcher = botocore.credentials.AssumeRoleCredentialFetcher(
        functools.partial(session.create_client, **sts_client_kwargs),
        source,
        role["RoleArn"],
        extra_args=extra_args,
    )
    credentials = botocore.credentials.DeferredRefreshableCredentials(fetcher.fetch_credentials, "assume-role")
    try:
        credentials.get_frozen_credentials()  # assume it now: a role that cannot be assumed fails before any call
    except botocore.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        raise AwsError(
            f"sts:AssumeRole of role {role['RoleArn']} failed: {error.get('Code', 'Unknown')}: "
            f"{error.get('Message') or 'no message'}",
            code=error.get("Code"),
        ) from None
    except botocore.exceptions.BotoCoreError as exc:
        raise AwsError(f"sts:AssumeRole of role {role['RoleArn']} failed: {exc}") from None
    _ASSUMED[cache_key] = credentials
    return credentials


def role_session_resolver(credentials: t.Any) -> t.Any:
    """A credential resolver giving a session exactly ``credentials``, for ``register_component``."""

    class AssumedRoleProvider(botocore.credentials.CredentialProvider):
        METHOD = "assume-role"

        def load(self) -> t.Any:
            return credentials

    return botocore.credentials.CredentialResolver(providers=[AssumedRoleProvider()])


def _digest(value: str | None) -> str | None:
    """A cache key never holds a secret."""
    return hashlib.sha256(value.encode()).hexdigest() if value else None
