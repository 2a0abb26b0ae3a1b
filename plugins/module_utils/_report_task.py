# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""The keyguard.aws.iam_access_key_info task: its options, and run(), shared by the module and the in-process path."""

from __future__ import annotations

import typing as t

from ansible_collections.keyguard.aws.plugins.module_utils._aws import (
    CONNECTION_ARGUMENT_RULES,
    CONNECTION_ARGUMENT_SPEC,
    REPORT_RETRY_MODE,
    REPORT_TOTAL_MAX_ATTEMPTS,
    aws_client,
    connection_kwargs,
)
from ansible_collections.keyguard.aws.plugins.module_utils._findings import DEFAULT_MAX_AGE_DAYS, DEFAULT_UNUSED_DAYS
from ansible_collections.keyguard.aws.plugins.module_utils._key_report import (
    DEFAULT_MAX_WORKERS,
    ReportRequest,
    build_report,
    collect_for_account,
    collect_for_key,
    collect_for_user,
)
from ansible_collections.keyguard.aws.plugins.module_utils._key_types import USER_AND_KEY_OPTIONS
from ansible_collections.keyguard.aws.plugins.module_utils._secret_store import (
    SECRET_STORE_OPTIONS,
    StoreSpec,
    open_store,
)

ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    **USER_AND_KEY_OPTIONS,
    "path_prefix": {"type": "str"},
    "status": {"type": "str", "choices": ["Active", "Inactive"]},
    "older_than_days": {"type": "int"},
    "unused_for_days": {"type": "int"},
    "include_last_used": {"type": "bool", "default": True},
    "exact_last_used": {"type": "bool", "default": False},
    "max_workers": {"type": "int", "default": DEFAULT_MAX_WORKERS},
    "max_calls_per_second": {"type": "float"},
    "include_findings": {"type": "bool", "default": False},
    "findings_unused_days": {"type": "int", "default": DEFAULT_UNUSED_DAYS},
    "findings_max_key_age_days": {"type": "int", "default": DEFAULT_MAX_AGE_DAYS, "no_log": False},
    "secret_store": {"type": "dict", "options": SECRET_STORE_OPTIONS, "no_log": False},
    **CONNECTION_ARGUMENT_SPEC,
}
ARGUMENT_RULES: dict[str, list[tuple[str, ...]]] = {
    **CONNECTION_ARGUMENT_RULES,
    "mutually_exclusive": [
        *CONNECTION_ARGUMENT_RULES["mutually_exclusive"],
        ("path_prefix", "user_name"),
        ("path_prefix", "id"),
    ],
}


def run(
    params: dict[str, t.Any], check_mode: bool, diff: bool, client_factory: t.Callable[..., t.Any] = aws_client
) -> dict[str, t.Any]:
    """Report access keys per ``params`` (the validated options); return the task result.

    Parse (no AWS call before the input is known to be good), collect one key, one user or the whole account,
    filter and shape. In check mode a user that does not exist gives an empty report and a warning.
    """
    request = ReportRequest.from_params(params)
    store = open_store(StoreSpec.from_option(params.get("secret_store")), connection_kwargs(params), client_factory)
    # Reports make many calls in parallel: adaptive retries with more attempts, so throttling slows them down
    # instead of failing them (see _aws.REPORT_RETRY_MODE).
    iam = client_factory(
        "iam",
        **connection_kwargs(params, retry_mode=REPORT_RETRY_MODE),
        total_max_attempts=REPORT_TOTAL_MAX_ATTEMPTS,
        max_calls_per_second=request.max_calls_per_second,
        pool_connections=request.max_workers + 1,  # and the credential report's fetch
    )
    if request.access_key_id is not None:
        collected = collect_for_key(iam, request)
    elif request.user_name is not None:
        collected = collect_for_user(iam, request, check_mode)
    else:
        collected = collect_for_account(iam, request)
    result = build_report(collected, request)
    if store is not None:  # which key the store holds as current (one read call, never the secret)
        held = store.describe([key.access_key_id for key in collected.keys]).key_id
        for entry in result["access_keys"]:
            entry["in_secret_store"] = entry["access_key_id"] == held
        result["secret_store"] = store.result()
    return result
