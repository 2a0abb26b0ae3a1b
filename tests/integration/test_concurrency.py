# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import concurrent.futures
import http.server
import json
import threading
import time
from typing import Any

import pytest
from _faults_helpers import MODULE, PATHS, assert_no_unknown_keys, moto_keys
from helpers import read_user

# Concurrency (issue 5): four ansible-playbook processes started together run the same "ensure an active key" task
# for the same user. IAM allows two keys per user. No process may crash, no key may exist whose secret no task
# returned, and one later run with previous_keys=delete converges the user to one key.

USER = "deploy"
RACERS = 4
ENSURE = {"user_name": USER, "state": "active"}
LIMIT_MESSAGE = "iam:CreateAccessKey failed: LimitExceeded: Cannot exceed quota for AccessKeysPerUser: 2"
TIMEOUT = 120.0
NO_TRACEBACK = "(traceback unavailable)"


class StartLine:
    """An HTTP endpoint whose GET returns once ``parties`` callers are waiting: a barrier between processes.

    ``task()`` is a debug task whose url lookup (on the controller) waits there, so the task after it starts at
    the same moment in every playbook, however long each ansible-playbook took to start.
    """

    def __init__(self, parties: int):
        self.barrier = threading.Barrier(parties, timeout=TIMEOUT)
        barrier = self.barrier

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # pylint: disable=redefined-builtin
                pass

            def do_GET(self):
                try:
                    barrier.wait()
                    body, status = b"go", 200
                except threading.BrokenBarrierError:
                    body, status = b"not everyone came", 500
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def task(self) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        lookup = f"{{{{ lookup('ansible.builtin.url', '{url}', use_proxy=false, timeout={int(TIMEOUT)}) }}}}"
        return {"name": "start line", "ansible.builtin.debug": {"msg": lookup}}

    def __enter__(self) -> StartLine:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.barrier.abort()
        self.server.shutdown()
        self.server.server_close()


class ReadTogether:
    """Proxy rule: hold each of the first ``parties`` ListAccessKeys calls until all have arrived, then let them
    through together. Every process then reads the user's keys before any of them creates one: the worst case."""

    def __init__(self, parties: int):
        self.barrier = threading.Barrier(parties, timeout=TIMEOUT / 2)
        self.held = 0
        self._lock = threading.Lock()

    def __call__(self, request) -> None:
        if request.action != "ListAccessKeys":
            return None
        with self._lock:
            if self.held >= self.barrier.parties:
                return None
            self.held += 1
        try:
            self.barrier.wait()
        except threading.BrokenBarrierError:
            pass
        return None


class SpacedCreates:
    """Proxy rule: CreateAccessKey calls reach moto at least ``spacing`` seconds apart.

    IAM enforces its two-key limit atomically; moto (a threaded server) checks it without a lock, so two creates in
    the same instant could both pass its check. Spacing them keeps moto's check reliable; the module still sees what
    it would see with IAM (every create is sent, and answered, after the reads that led to it).
    """

    def __init__(self, spacing: float = 0.1):
        self.spacing = spacing
        self.next_at = 0.0
        self._lock = threading.Lock()

    def __call__(self, request) -> None:
        if request.action != "CreateAccessKey":
            return None
        with self._lock:
            now = time.monotonic()
            start = max(now, self.next_at)
            self.next_at = start + self.spacing
        time.sleep(start - now)
        return None


def race(run_playbook, proxy, tmp_path, tasks: list[dict[str, Any]]) -> list[Any]:
    """Run ``tasks`` in RACERS ansible-playbook processes at once (two in-process, two on the module path)."""
    runner_class = type(run_playbook)  # conftest's PlaybookRunner: one per process, each with its own directory
    runners = [runner_class(tmp_path / f"racer-{index}", proxy.url) for index in range(RACERS)]
    envs = [PATHS["in-process"], PATHS["in-process"], PATHS["module"], PATHS["module"]]
    with concurrent.futures.ThreadPoolExecutor(max_workers=RACERS) as pool:
        futures = [pool.submit(runner, tasks, env=env) for runner, env in zip(runners, envs)]
        return [future.result() for future in futures]


@pytest.mark.parametrize("start", ["together", "reads-before-any-create"])
def test_four_playbooks_ensure_one_active_key(start, run_playbook, proxy, moto, iam, tmp_path):
    iam.create_user(UserName=USER)
    ensure = {"name": "ensure an active key", MODULE: ENSURE, "no_log": False}
    with StartLine(RACERS) as start_line:
        proxy.add_rule(SpacedCreates())
        if start == "reads-before-any-create":
            proxy.add_rule(ReadTogether(RACERS))
        results = race(run_playbook, proxy, tmp_path, [start_line.task(), ensure])

    outcomes = []
    for index, result in enumerate(results):
        context = f"racer {index}:\n{result.summary()}"
        assert "Traceback" not in result.stdout + result.stderr, context
        assert "MODULE FAILURE" not in result.stdout, context
        assert result.rc in (0, 2), context
        outcome = result.task("ensure an active key")
        # Ansible 2.19 adds this placeholder to every failed result that carries no traceback
        assert outcome.get("exception", NO_TRACEBACK) == NO_TRACEBACK and "module_stderr" not in outcome, context
        if outcome["failed"]:
            # the only acceptable failure: IAM's two-key limit, reported in one clear line, with nothing done
            assert outcome["msg"] == LIMIT_MESSAGE, context
            assert outcome["actions"] == [] and "secret_access_key" not in outcome, context
        else:
            assert result.rc == 0, context
        outcomes.append(outcome)

    keys = read_user(iam, USER)
    assert 1 <= len(keys.keys) <= 2, keys.summary()
    assert all(key["status"] == "Active" for key in keys.keys)

    # every key IAM made was made by a task that returned its secret (moto lists deleted keys too; none were)
    secrets: dict[str, str] = {}
    for outcome in outcomes:
        if "secret_access_key" in outcome:
            key_id = outcome["access_key"]["access_key_id"]
            assert outcome["actions"] == [{"action": "create", "access_key_id": key_id}]
            secrets[key_id] = outcome["secret_access_key"]
        elif not outcome["failed"]:
            assert (outcome["changed"], outcome["actions"]) == (False, [])  # found a key another process made
            assert outcome["access_key"]["access_key_id"] in keys.key_ids
    made = moto_keys(moto)
    assert sorted(made) == sorted(secrets) == sorted(keys.key_ids)
    assert_no_unknown_keys(moto, iam, [USER], [], secrets)
    creates = [call for call in proxy.calls if call.action == "CreateAccessKey"]
    assert sum(call.upstream_status == 200 for call in creates) == len(secrets)
    if start == "reads-before-any-create":
        # all four saw no key and tried to create one: IAM accepted two and refused two
        assert len(creates) == RACERS
        assert sorted(outcome["failed"] for outcome in outcomes) == [False, False, True, True]
        assert len(keys.keys) == 2
    print(f"{start}: {len(creates)} CreateAccessKey calls, {len(secrets)} keys made, rcs {[r.rc for r in results]}")

    # one later run converges the user to one key: the newest Active key stays, the other goes
    converge = run_playbook([{"name": "converge", MODULE: {**ENSURE, "previous_keys": "delete"}}])
    assert converge.rc == 0, converge.summary()
    outcome = converge.task("converge")
    newest = keys.key_ids[-1]
    assert outcome["access_key"]["access_key_id"] == newest
    assert outcome["actions"] == [{"action": "delete", "access_key_id": key_id} for key_id in keys.key_ids[:-1]]
    assert "secret_access_key" not in outcome
    assert read_user(iam, USER).summary() == [(newest, "Active", None)]
    assert json.dumps(outcome).count(secrets[newest]) == 0
