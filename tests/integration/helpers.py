# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers shared by integration tests: IAM state read back with boto3, checkpoints inside one playbook run,
moto's signature and policy checks, a closed port.

- ``read_iam(client, users)``: each user's keys (shaped like the module's ``access_keys``) and tags.
- ``Checkpoints``: tasks that, while ``ansible-playbook`` runs, make the test process read IAM with boto3 and
  note how many calls the proxy has seen, so one run can hold several steps (check mode, real run, re-run)
  and each step is still checked on its own: ``state(task)``, ``calls(task)``, ``writes(task)``.
- ``moto_auth(moto_url)``: moto checks SigV4 signatures and IAM policies while the block runs (it does not
  by default), so a secret can be proven real and a missing permission gives a real ``AccessDenied``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import http.server
import json
import socket
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from typing import Any

import aws_clients  # tests/tools (see tests/conftest.py)
import botocore.exceptions

WRITE_ACTIONS = frozenset({"CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey", "TagUser", "UntagUser"})
REGION = "us-east-1"


def iam_client(endpoint_url: str, access_key: str = "testing", secret_key: str = "testing"):
    """A boto3 IAM client without retries (a failure is the answer we want to see)."""
    return aws_clients.iam_client(
        endpoint_url, access_key, secret_key, retries={"mode": "standard", "total_max_attempts": 1}
    )


# --------------------------------------------------------------------------------------------
# IAM state
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class UserState:
    """One IAM user as boto3 reads it. ``keys`` look like the module's ``access_keys`` (oldest first)."""

    exists: bool
    keys: list[dict[str, Any]]
    tags: dict[str, str]

    @property
    def key_ids(self) -> list[str]:
        return [key["access_key_id"] for key in self.keys]

    def key(self, access_key_id: str) -> dict[str, Any]:
        found = [key for key in self.keys if key["access_key_id"] == access_key_id]
        if len(found) != 1:
            raise KeyError(f"access key {access_key_id} not found in {self.key_ids}")
        return found[0]

    def summary(self) -> list[tuple[str, str, str | None]]:
        """(access_key_id, status, description) of each key, oldest first."""
        return [(key["access_key_id"], key["status"], key["description"]) for key in self.keys]


def _iso(value: datetime.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc).isoformat()


def read_user(client, user_name: str) -> UserState:
    """The user's keys (with descriptions from the user tags, as the console stores them) and all its tags."""
    try:
        metadata = [
            item
            for page in client.get_paginator("list_access_keys").paginate(UserName=user_name)
            for item in page["AccessKeyMetadata"]
        ]
        tags = {tag["Key"]: tag["Value"] for tag in client.list_user_tags(UserName=user_name)["Tags"]}
    except botocore.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchEntity":
            return UserState(exists=False, keys=[], tags={})
        raise
    metadata.sort(key=lambda item: (item["CreateDate"], item["AccessKeyId"]))
    keys = [
        {
            "access_key_id": item["AccessKeyId"],
            "user_name": item["UserName"],
            "status": item["Status"],
            "create_date": _iso(item["CreateDate"]),
            "description": tags.get(item["AccessKeyId"]),
        }
        for item in metadata
    ]
    return UserState(exists=True, keys=keys, tags=tags)


def read_iam(client, user_names: Iterable[str]) -> dict[str, UserState]:
    return {name: read_user(client, name) for name in user_names}


# --------------------------------------------------------------------------------------------
# Checkpoints inside a playbook run
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    label: str
    iam: dict[str, UserState]
    call_count: int  # calls the proxy had recorded when the checkpoint was taken


class Checkpoints:
    """IAM snapshots taken by the test process while ``ansible-playbook`` runs.

    ``task(label)`` is a ``debug`` task whose ``url`` lookup (run on the controller, after the task before it
    finished) asks a small HTTP server in this process to read ``user_names`` with ``client`` and count the
    proxy's calls. ``around(tasks)`` puts a ``start`` checkpoint first and one after every task, labelled with
    the task's name; then ``state(name)`` is IAM after that task, ``before(name)`` IAM before it, and
    ``calls(name)``/``writes(name)`` the proxy calls the task made.
    """

    def __init__(self, proxy, client, user_names: Iterable[str]):
        self.proxy = proxy
        self.client = client
        self.user_names = tuple(user_names)
        self.order: list[str] = []
        self.taken: dict[str, Checkpoint] = {}
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Checkpoints:
        checkpoints = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # pylint: disable=redefined-builtin
                pass

            def do_GET(self):
                label = urllib.parse.unquote(self.path.lstrip("/"))
                try:
                    checkpoints.take(label)
                except Exception as exc:  # the failing task stops the playbook; the test sees the reason
                    checkpoints.errors.append(f"{label}: {exc!r}")
                    body, status = f"checkpoint {label} failed: {exc!r}".encode(), 500
                else:
                    body, status = b"ok", 200
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("checkpoint server not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def take(self, label: str) -> Checkpoint:
        """Read IAM now (also usable directly from the test, e.g. for the state before a run)."""
        point = Checkpoint(label, read_iam(self.client, self.user_names), len(self.proxy.calls))
        with self._lock:
            if label in self.taken:
                raise ValueError(f"checkpoint {label!r} taken twice")
            self.taken[label] = point
            self.order.append(label)
        return point

    def task(self, label: str) -> dict[str, Any]:
        url = f"{self.url}/{urllib.parse.quote(label, safe='')}"
        return {
            "name": f"checkpoint: {label}",
            "ansible.builtin.debug": {"msg": "{{ lookup('ansible.builtin.url', '" + url + "', use_proxy=false) }}"},
        }

    def around(self, tasks: Iterable[dict[str, Any]], start: str = "start") -> list[dict[str, Any]]:
        result = [self.task(start)]
        for task in tasks:
            result += [task, self.task(task["name"])]
        return result

    def _get(self, label: str) -> Checkpoint:
        if label not in self.taken:
            raise KeyError(f"no checkpoint {label!r}; taken: {self.order}; errors: {self.errors}")
        return self.taken[label]

    def state(self, label: str) -> dict[str, UserState]:
        """IAM as read at checkpoint ``label`` (after the task of that name)."""
        return self._get(label).iam

    def before(self, label: str) -> dict[str, UserState]:
        """IAM as read at the checkpoint preceding ``label``."""
        self._get(label)
        return self.taken[self.order[self.order.index(label) - 1]].iam

    def calls(self, label: str) -> list[Any]:
        """The proxy calls made between the checkpoint before ``label`` and ``label``."""
        end = self._get(label).call_count
        index = self.order.index(label)
        start = self.taken[self.order[index - 1]].call_count if index else 0
        return self.proxy.calls[start:end]

    def actions(self, label: str) -> list[str | None]:
        return [call.action for call in self.calls(label)]

    def writes(self, label: str) -> list[str | None]:
        return [action for action in self.actions(label) if action in WRITE_ACTIONS]


# --------------------------------------------------------------------------------------------
# moto's authentication, and things that are not there
# --------------------------------------------------------------------------------------------


def _post(url: str, body: bytes) -> None:
    # not urllib's default form content type: Flask would parse the body as a form and leave request.data empty
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


@contextlib.contextmanager
def moto_auth(moto_url: str) -> Iterator[None]:
    """Make moto verify signatures and enforce IAM policies inside the block (``/moto-api/reset-auth``).

    Only keys moto knows work meanwhile: the harness's dummy ``testing`` key gets ``InvalidClientTokenId``.
    """
    _post(f"{moto_url}/moto-api/reset-auth", b"0")
    try:
        yield
    finally:
        _post(f"{moto_url}/moto-api/reset-auth", b"inf")


def allow(*actions: str) -> str:
    """An IAM policy document allowing ``actions`` on every resource."""
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}
    )


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (it was free a moment ago)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
