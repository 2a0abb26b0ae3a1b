# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""Making AWS calls: one error-translating call and paginate for every service, and the service's clock.

A failed call raises ``AwsError`` naming the action (``iam:ListAccessKeys failed: ...``). ``absent_ok=True``
turns the service's "no such resource" error into None: for a delete, or a read of something that may be gone.
"""

from __future__ import annotations

import datetime
import email.utils
import typing as t

from ansible_collections.keyguard.aws.plugins.module_utils._aws import (
    AwsError,
    describe_failure,
    error_code,
    is_aws_failure,
)

try:
    from botocore import xform_name
except ImportError:  # pragma: no cover - the client factory reports the missing SDK first
    xform_name = None

T = t.TypeVar("T")

# The error code each service answers for a resource that does not exist.
ABSENT_CODES = frozenset({"NoSuchEntity", "ResourceNotFoundException", "ParameterNotFound"})


def call(client: t.Any, operation: str, *, absent_ok: bool = False, **kwargs: t.Any) -> dict[str, t.Any] | None:
    """One call of ``operation`` (its API name, e.g. ``ListAccessKeys``); None if absent and ``absent_ok``."""
    return _translating(client, operation, absent_ok, lambda: getattr(client, xform_name(operation))(**kwargs))


def paginate(
    client: t.Any, operation: str, result_key: str, *, absent_ok: bool = False, **kwargs: t.Any
) -> tuple[list[dict[str, t.Any]], dict[str, str]] | None:
    """All items of a paginated list call, and the HTTP headers of its first page; None if absent and ``absent_ok``."""

    def all_pages() -> tuple[list[dict[str, t.Any]], dict[str, str]]:
        items: list[dict[str, t.Any]] = []
        headers: dict[str, str] = {}
        for page in client.get_paginator(xform_name(operation)).paginate(**kwargs):
            if not headers:
                headers = page.get("ResponseMetadata", {}).get("HTTPHeaders", {})
            items.extend(page.get(result_key, []))
        return items, headers

    return _translating(client, operation, absent_ok, all_pages)


def paginate_short(
    client: t.Any, operation: str, result_key: str, *, absent_ok: bool = False, **kwargs: t.Any
) -> tuple[list[dict[str, t.Any]], dict[str, str]] | None:
    """``paginate`` for a list that fits one page (a user's access keys: IAM allows two): one plain call, and
    botocore's paginator from the start only if that answer says it is truncated. Building a paginator for each of
    thousands of users costs more client CPU than the call it makes."""
    first = call(client, operation, absent_ok=absent_ok, **kwargs)
    if first is None:
        return None
    if first.get("IsTruncated"):
        return paginate(client, operation, result_key, absent_ok=absent_ok, **kwargs)
    return first.get(result_key, []), first.get("ResponseMetadata", {}).get("HTTPHeaders", {})


def _translating(client: t.Any, operation: str, absent_ok: bool, make_call: t.Callable[[], T]) -> T | None:
    """``make_call()`` with the service's failures raised as AwsError (or None for an absent resource)."""
    try:
        return make_call()
    except Exception as exc:
        failure = _translated(client, operation, exc)
        if failure is None:
            raise
        if absent_ok and failure.code in ABSENT_CODES:
            return None
        raise failure from None


def _translated(client: t.Any, operation: str, exc: Exception) -> AwsError | None:
    """The AwsError for a failed call, or None for an error that is not the service's (a bug of ours)."""
    if isinstance(exc, AwsError):  # raised by our own botocore hooks (an ambiguous non-idempotent call)
        return exc
    if not is_aws_failure(exc):
        return None
    service = getattr(getattr(client.meta, "service_model", None), "endpoint_prefix", None) or "iam"
    return AwsError(describe_failure(operation, exc, service), code=error_code(exc))


def server_time(headers: dict[str, str]) -> datetime.datetime | None:
    """The service's own clock from a response's Date header, so key ages do not depend on the local clock."""
    value = headers.get("date")
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).astimezone(datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def utc(value: datetime.datetime) -> datetime.datetime:
    """``value`` in UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)
