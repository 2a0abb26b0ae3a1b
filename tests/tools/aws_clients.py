# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""boto3 clients for the tests and the benchmarks: moto's endpoint, dummy credentials unless given, us-east-1.

    client("iam", endpoint_url, access_key=..., secret_key=..., session_token=..., region=..., **botocore_config)
    iam_client(endpoint_url, ...)   # the same for "iam"

``botocore_config`` goes to ``botocore.config.Config``, e.g. ``retries={"mode": "standard", "total_max_attempts": 1}``
(botocore's ``max_attempts`` there counts retries, not attempts); without it botocore's defaults apply.

Every client comes from one boto3 session per process, so the service model files are parsed once: a client from a
fresh session costs over 100 ms on this machine, one from the shared session about a tenth of that. Making a client is
serialised (a boto3 session is not thread-safe); the clients themselves are.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
import botocore.config
from ansible_env import DUMMY_ACCESS_KEY, DUMMY_SECRET_KEY, REGION

_lock = threading.Lock()
_session: boto3.session.Session | None = None


def session() -> boto3.session.Session:
    """The shared boto3 session (created on first use)."""
    global _session  # pylint: disable=global-statement
    with _lock:
        if _session is None:
            _session = boto3.session.Session(region_name=REGION)
        return _session


def client(
    service: str,
    endpoint_url: str,
    access_key: str = DUMMY_ACCESS_KEY,
    secret_key: str = DUMMY_SECRET_KEY,
    session_token: str | None = None,
    region: str = REGION,
    **config: Any,
) -> Any:
    """A boto3 client of ``service`` for ``endpoint_url``; ``config`` as botocore.config.Config takes it."""
    shared = session()
    with _lock:
        return shared.client(
            service,
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            aws_session_token=session_token,
            config=botocore.config.Config(**config) if config else None,
        )


def iam_client(endpoint_url: str, access_key: str = DUMMY_ACCESS_KEY, secret_key: str = DUMMY_SECRET_KEY, **kw: Any):
    """``client("iam", ...)``."""
    return client("iam", endpoint_url, access_key, secret_key, **kw)
