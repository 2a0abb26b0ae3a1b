# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""max_calls_per_second (issue 14): requests spaced by a fake clock; the client's every request waits for its slot."""

from __future__ import annotations

import typing as t

import pytest
from unit_tasks import report_access_keys, validated

from ansible_collections.keyguard.aws.plugins.module_utils import _rate_limit, _report_task
from ansible_collections.keyguard.aws.plugins.module_utils._aws import aws_client, connection_kwargs


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(_rate_limit.time, "sleep", fake.sleep)
    monkeypatch.setattr(_rate_limit.time, "monotonic", fake.clock)
    return fake


def test_requests_are_spaced_by_the_rate(fake_time: FakeTime) -> None:
    spacer = _rate_limit.RequestSpacer(4)
    for _request in range(5):
        assert spacer.wait() is None  # None: botocore sends the request as usual
    assert fake_time.slept == [0.25, 0.25, 0.25, 0.25]
    fake_time.now += 10  # idle time is not saved up for a burst
    spacer.wait()
    spacer.wait()
    assert fake_time.slept[-1] == 0.25 and len(fake_time.slept) == 5


def test_a_report_with_a_rate_cap_waits_before_each_request(moto_iam: t.Any, fake_time: FakeTime) -> None:
    for name in ("bob", "carol"):
        moto_iam.create_user(UserName=name)
        moto_iam.create_access_key(UserName=name)
    report = report_access_keys({"max_calls_per_second": 2, "include_last_used": False, "max_workers": 1})
    assert report["count"] == 2
    # GetAccountAuthorizationDetails, then ListAccessKeys for alice, bob and carol: three waits of half a second
    assert fake_time.slept == [0.5, 0.5, 0.5]
    fake_time.slept.clear()
    aws_client("iam", **connection_kwargs({})).list_users()  # a client without the option is not spaced
    assert fake_time.slept == []


@pytest.mark.parametrize(("max_workers", "pool"), [(4, 10), (9, 10), (10, 11), (32, 33)])
def test_a_whole_account_report_pools_a_connection_for_each_worker_and_the_credential_report(
    moto_iam: t.Any, max_workers: int, pool: int
) -> None:
    moto_iam.create_access_key(UserName="alice")
    made = []

    def factory(service: str, **kwargs: t.Any) -> t.Any:
        made.append(aws_client(service, **kwargs))
        return made[-1]

    params = {"max_workers": max_workers, "include_last_used": False, "region": "us-east-1"}
    report = _report_task.run(validated(_report_task, params), False, False, factory)
    assert [client.meta.config.max_pool_connections for client in made] == [pool]
    listed = moto_iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]
    assert [key["access_key_id"] for key in report["access_keys"]] == [key["AccessKeyId"] for key in listed]
