# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Seed IAM state in moto with boto3, quickly: calls go straight to moto (not through the counting
proxy) on a thread pool. A key is "used" once one IAM call was signed with it: moto then records
its last use the way IAM does."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import threading
from collections.abc import Callable, Iterable
from typing import Any

import boto3
import botocore.config
from harness import DUMMY_ACCESS_KEY, DUMMY_SECRET_KEY, REGION


@dataclasses.dataclass(frozen=True)
class Key:
    user_name: str
    access_key_id: str
    secret_access_key: str


class Seeder:
    """boto3 against moto directly; every bulk method runs its calls on ``workers`` threads."""

    def __init__(self, endpoint_url: str, workers: int = 16) -> None:
        self.endpoint_url = endpoint_url
        self.workers = workers
        self._session = boto3.session.Session(region_name=REGION)
        self._session_lock = threading.Lock()  # creating clients from one session is not thread-safe
        self.iam = self.client(DUMMY_ACCESS_KEY, DUMMY_SECRET_KEY)

    def client(self, access_key: str, secret_key: str) -> Any:
        config = botocore.config.Config(
            retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=max(10, self.workers)
        )
        with self._session_lock:
            return self._session.client(
                "iam",
                endpoint_url=self.endpoint_url,
                aws_access_key_id=access_key,
                aws_secret_access_key=secret_key,
                config=config,
            )

    def _map(self, function: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        items = list(items)
        if len(items) <= 1:
            return [function(item) for item in items]
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(self.workers, len(items))) as pool:
            return list(pool.map(function, items))

    def create_users(self, names: Iterable[str]) -> None:
        self._map(lambda name: self.iam.create_user(UserName=name), names)

    def create_keys(self, names: Iterable[str]) -> list[Key]:
        """One new key for each user, in the order given."""

        def create(name: str) -> Key:
            key = self.iam.create_access_key(UserName=name)["AccessKey"]
            return Key(name, key["AccessKeyId"], key["SecretAccessKey"])

        return self._map(create, names)

    def use_keys(self, keys: Iterable[Key]) -> None:
        """Sign one IAM call with each key, so IAM (moto) records its last use."""
        self._map(lambda key: self.client(key.access_key_id, key.secret_access_key).get_user(), keys)

    def set_status(self, key: Key, status: str) -> None:
        self.iam.update_access_key(UserName=key.user_name, AccessKeyId=key.access_key_id, Status=status)

    def user_with_keys(self, name: str, count: int = 1) -> list[Key]:
        self.iam.create_user(UserName=name)
        return [self.create_keys([name])[0] for _index in range(count)]
