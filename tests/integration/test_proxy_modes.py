# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The test proxy's real-IAM modes (tests/tools/iam_proxy.py): added latency and the token-bucket rate limit.

Behaviour, not speed: the only timings asserted are lower bounds the proxy itself guarantees (a call
waits at least the latency) and an upper bound with a wide margin (concurrent calls overlap).
"""

from __future__ import annotations

import concurrent.futures
import sys
import time

import botocore.exceptions
import pytest

iam_proxy = sys.modules["iam_proxy"]  # tests/tools/iam_proxy.py, as conftest.py imported it
NO_RETRIES = {"total_max_attempts": 1, "mode": "standard"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_burst_refill_and_cap() -> None:
    clock = FakeClock()
    bucket = iam_proxy.TokenBucket(rate=20, burst=20, clock=clock)
    assert [bucket.take() for _call in range(21)] == [True] * 20 + [False]
    clock.now += 0.125  # 2.5 tokens at 20 a second
    assert [bucket.take() for _call in range(3)] == [True, True, False]
    clock.now += 60  # refills up to the burst, no further
    assert sum(bucket.take() for _call in range(40)) == 20
    with pytest.raises(ValueError):
        iam_proxy.TokenBucket(rate=0, burst=1)


def test_latency_is_added_to_every_call_and_concurrent_calls_overlap(proxy, iam_client_factory) -> None:
    latency, workers = 0.25, 8
    clients = [iam_client_factory(proxy.url, retries=NO_RETRIES) for _worker in range(workers)]
    clients[0].list_users()  # connect and load the model before timing anything
    proxy.reset_calls()
    proxy.set_latency(latency)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda client: client.list_users(), clients))
    elapsed = time.monotonic() - started
    calls = proxy.calls
    assert len(calls) == workers
    assert all(call.duration >= latency and call.forwarded and call.status == 200 for call in calls)
    assert elapsed < workers * latency / 2  # in sequence it would be 2 s; overlapping, about 0.25 s

    proxy.set_latency(0)
    proxy.reset_calls()
    clients[0].list_users()
    assert proxy.calls[0].duration < latency
    with pytest.raises(ValueError):
        proxy.set_latency(-1)


def test_latency_including_server_time_answers_no_sooner_than_it(proxy, iam_client_factory) -> None:
    latency, workers = 0.5, 8
    clients = [iam_client_factory(proxy.url, retries=NO_RETRIES) for _worker in range(workers)]
    clients[0].list_users()
    proxy.set_latency(latency, includes_server_time=True)
    proxy.reset_calls()
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda client: client.list_users(), clients))
    elapsed = time.monotonic() - started
    assert all(call.duration >= latency and call.forwarded and call.status == 200 for call in proxy.calls)
    assert len(proxy.calls) == workers and elapsed < workers * latency / 2

    # moto's own time is inside the latency: a call moto takes 0.8 s to answer (the "slow" fault holds it
    # before forwarding) is answered after about 0.8 s, not 0.8 s + the latency.
    proxy.add_fault("slow", action="ListUsers", delay=0.8)
    proxy.reset_calls()
    clients[0].list_users()
    (call,) = proxy.calls
    assert 0.8 <= call.duration < 0.8 + latency
    proxy.clear_faults()
    proxy.set_latency(0)
    assert proxy.latency_includes_server_time is False


def test_rate_limit_answers_iam_throttling_past_the_burst_and_refills(proxy, iam_client_factory) -> None:
    client = iam_client_factory(proxy.url, retries=NO_RETRIES)
    client.list_users()  # connected, model loaded
    proxy.reset_calls()
    proxy.set_rate_limit(4, burst=3)
    for _call in range(3):
        client.list_users()
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        client.list_users()
    response = caught.value.response
    assert response["Error"] == {"Type": "Sender", "Code": "Throttling", "Message": "Rate exceeded"}
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["ResponseMetadata"]["RequestId"]
    last = proxy.calls[-1]
    assert (last.action, last.status, last.error_code, last.fault, last.forwarded) == (
        "ListUsers",
        400,
        "Throttling",
        "rate_limit",
        False,
    )
    assert (proxy.count(), proxy.throttled(), proxy.logical_calls()) == (4, 1, 4)

    time.sleep(0.6)  # at 4 a second, at least two tokens are back
    client.list_users()
    assert proxy.calls[-1].status == 200

    # botocore's standard mode retries Throttling with back-off: one logical call, a retry or more
    proxy.reset_calls()
    retrying = iam_client_factory(proxy.url, retries={"total_max_attempts": 10, "mode": "standard"})
    for _call in range(6):
        retrying.list_users()
    calls = proxy.calls
    assert proxy.logical_calls() == 6
    assert proxy.throttled() >= 1
    assert proxy.count() == 6 + proxy.throttled()
    assert max(call.attempt for call in calls) >= 2
    assert all(call.status == 200 for call in calls if call.error_code is None)

    proxy.clear_rate_limit()
    proxy.reset_calls()
    for _call in range(10):
        client.list_users()
    assert proxy.throttled() == 0


def test_modes_set_at_start(moto) -> None:
    with iam_proxy.IamProxy(moto.url, latency=0.1, rate_limit=(1, 1)) as proxy:
        assert proxy.latency == 0.1
        assert (proxy.rate_limit.rate, proxy.rate_limit.burst) == (1.0, 1)
        proxy.set_rate_limit(50)  # burst defaults to one second's worth
        assert proxy.rate_limit.burst == 50
