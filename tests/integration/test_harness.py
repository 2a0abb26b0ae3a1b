# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests of the integration harness itself (moto server, clock, proxy, run_playbook)."""

from __future__ import annotations

import concurrent.futures
import datetime
import email.utils
import http.client
import json
import os
import textwrap

import botocore.exceptions
import pytest

UTC = datetime.timezone.utc

WARN_AND_DIFF_MODULE = textwrap.dedent(
    """
    #!/usr/bin/python
    from __future__ import annotations

    from ansible.module_utils.basic import AnsibleModule


    def main():
        module = AnsibleModule(argument_spec={"value": {"type": "str", "required": True}}, supports_check_mode=True)
        module.warn("careful with " + module.params["value"])
        result = {"changed": True, "value": module.params["value"]}
        if module._diff:
            result["diff"] = {"before": {"value": None}, "after": {"value": module.params["value"]}}
        if module.params["value"] == "bad":
            module.fail_json(msg="value is bad", **result)
        module.exit_json(**result)


    if __name__ == "__main__":
        main()
    """
).lstrip()


def _date_header(response) -> datetime.datetime:
    return email.utils.parsedate_to_datetime(response["ResponseMetadata"]["HTTPHeaders"]["date"])


def test_playbook_results_are_captured(run_playbook, tmp_path):
    marker = tmp_path / "marker.txt"
    result = run_playbook(
        [
            {"name": "say hello", "ansible.builtin.debug": {"msg": "hello {{ who }}"}},
            {"name": "run a command", "ansible.builtin.command": {"argv": ["echo", "out:{{ who }}"]}},
            {"name": "write a file", "ansible.builtin.copy": {"content": "x\n", "dest": str(marker)}},
            {"name": "skip me", "ansible.builtin.debug": {"msg": "never"}, "when": False},
            {"name": "fail softly", "ansible.builtin.fail": {"msg": "soft failure"}, "ignore_errors": True},
            {"name": "show env", "ansible.builtin.debug": {"msg": "{{ lookup('env', 'HARNESS_PROBE') }}"}},
        ],
        diff=True,
        extra_vars={"who": "world"},
        env={"HARNESS_PROBE": "probe-value"},
    )
    assert result.rc == 0, result.summary()
    assert [record["task"] for record in result.results] == [
        "say hello",
        "run a command",
        "write a file",
        "skip me",
        "fail softly",
        "show env",
    ]
    assert result.task("say hello")["msg"] == "hello world"
    assert result.record("say hello")["status"] == "ok"
    assert result.record("say hello")["action"] == "ansible.builtin.debug"

    command = result.task("run a command")
    assert command["stdout"] == "out:world"
    assert command["rc"] == 0
    assert command["changed"] is True and command["failed"] is False

    copied = result.task("write a file")
    assert copied["changed"] is True
    assert copied["diff"][0]["after"] == "x\n"
    assert marker.read_text(encoding="utf-8") == "x\n"

    assert result.task("skip me")["skipped"] is True
    assert result.record("skip me")["status"] == "skipped"

    failed = result.record("fail softly")
    assert failed["status"] == "failed"
    assert failed["ignore_errors"] is True
    assert failed["result"]["failed"] is True
    assert failed["result"]["msg"] == "soft failure"

    assert result.task("show env")["msg"] == "probe-value"
    assert result.stats["localhost"]["ignored"] == 1
    assert result.stats["localhost"]["skipped"] == 1
    with pytest.raises(KeyError):
        result.task("no such task")


def test_ansible_settings_of_the_caller_do_not_leak(run_playbook, monkeypatch):
    monkeypatch.setenv("ANSIBLE_FORKS", "7")
    monkeypatch.setenv("ANSIBLE_STDOUT_CALLBACK", "oneline")
    monkeypatch.setenv("AWS_PROFILE", "someone-elses-profile")
    result = run_playbook(
        [
            {"name": "forks", "ansible.builtin.debug": {"msg": "{{ ansible_forks }}"}},
            {"name": "forks env", "ansible.builtin.debug": {"msg": "{{ lookup('env', 'ANSIBLE_FORKS') }}"}},
            {"name": "aws profile", "ansible.builtin.debug": {"msg": "{{ lookup('env', 'AWS_PROFILE') or 'unset' }}"}},
            {"name": "endpoint", "ansible.builtin.debug": {"msg": "{{ lookup('env', 'AWS_ENDPOINT_URL') }}"}},
        ]
    )
    assert result.rc == 0, result.summary()
    assert result.task("forks")["msg"] == 5  # ansible's default, not the caller's 7
    assert result.task("forks env")["msg"] == ""
    assert result.task("aws profile")["msg"] == "unset"
    assert result.task("endpoint")["msg"].startswith("http://127.0.0.1:")
    # the default callback printed the task banners, not the oneline callback from the caller's env
    assert "TASK [forks]" in result.stdout


def test_failures_warnings_diff_check_mode_and_module_defaults(run_playbook, proxy, tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    (library / "harness_probe.py").write_text(WARN_AND_DIFF_MODULE, encoding="utf-8")
    env = {"ANSIBLE_LIBRARY": str(library)}
    tasks = [
        {"name": "probe", "harness_probe": {"value": "fine"}},
        {"name": "probe bad", "harness_probe": {"value": "bad"}},
        {"name": "never reached", "ansible.builtin.debug": {"msg": "x"}},
    ]

    result = run_playbook(tasks, check=True, diff=True, env=env)
    assert result.rc == 2, result.summary()
    probe = result.task("probe")
    assert probe["changed"] is True
    assert probe["warnings"] == ["careful with fine"]
    assert probe["diff"] == {"before": {"value": None}, "after": {"value": "fine"}}
    assert result.record("probe")["check_mode"] is True
    bad = result.task("probe bad")
    assert bad["failed"] is True
    assert bad["msg"] == "value is bad"
    assert bad["warnings"] == ["careful with bad"]
    assert [record["task"] for record in result.results] == ["probe", "probe bad"]
    assert result.stats["localhost"]["failures"] == 1

    # without --diff the module sends no diff
    plain = run_playbook(tasks[:1], env=env)
    assert plain.rc == 0, plain.summary()
    assert "diff" not in plain.task("probe")

    # module_defaults of the action group are in the playbook (the group's modules get them)
    played = plain.playbook.read_text(encoding="utf-8")
    assert "group/keyguard.aws.aws" in played
    assert f"endpoint_url: {proxy.url}" in played
    without = run_playbook(tasks[:1], env=env, module_defaults=False)
    assert without.rc == 0, without.summary()
    assert "module_defaults" not in without.playbook.read_text(encoding="utf-8")


def test_playbook_yaml_string(run_playbook):
    playbook = textwrap.dedent(
        """
        - hosts: localhost
          vars:
            greeting: hi
          tasks:
            - name: from yaml
              ansible.builtin.set_fact:
                said: "{{ greeting }} there"
            - name: echo fact
              ansible.builtin.debug:
                var: said
        """
    )
    result = run_playbook(playbook)
    assert result.rc == 0, result.summary()
    assert result.task("from yaml")["ansible_facts"] == {"said": "hi there"}
    assert result.task("echo fact")["said"] == "hi there"


def test_proxy_records_iam_calls(proxy, proxy_iam, iam):
    iam.create_user(UserName="setup-user")  # direct to moto: not recorded
    assert proxy.calls == []

    proxy_iam.create_user(UserName="alice")
    proxy_iam.create_access_key(UserName="alice")
    proxy_iam.list_access_keys(UserName="alice")
    with pytest.raises(botocore.exceptions.ClientError) as error:
        proxy_iam.get_user(UserName="nobody")
    assert error.value.response["Error"]["Code"] == "NoSuchEntity"

    assert proxy.actions() == ["CreateUser", "CreateAccessKey", "ListAccessKeys", "GetUser"]
    calls = proxy.calls
    assert [call.status for call in calls] == [200, 200, 200, 404]
    assert [call.error_code for call in calls] == [None, None, None, "NoSuchEntity"]
    assert calls[1].params["UserName"] == "alice"
    assert all(call.forwarded and call.fault is None for call in calls)
    # the key really exists in moto
    assert len(iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]) == 1

    proxy.reset_calls()
    assert proxy.actions() == []


def test_proxy_handles_concurrent_keep_alive_clients(proxy, iam, iam_client_factory):
    iam.create_user(UserName="bob")
    clients = [iam_client_factory(proxy.url) for _client in range(4)]

    def work(client):
        for _attempt in range(5):
            client.get_user(UserName="bob")
        return client.list_users()["Users"][0]["UserName"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        names = list(pool.map(work, clients))
    assert names == ["bob"] * 4
    assert proxy.actions().count("GetUser") == 20
    assert proxy.actions().count("ListUsers") == 4
    assert [call.seq for call in proxy.calls] == list(range(1, 25))


@pytest.mark.parametrize(
    ("kind", "error_type", "code"),
    [
        ("throttle", botocore.exceptions.ClientError, "Throttling"),
        ("service_failure", botocore.exceptions.ClientError, "ServiceFailure"),
        ("reset", botocore.exceptions.HTTPClientError, None),
        ("lost", botocore.exceptions.HTTPClientError, None),
    ],
)
def test_proxy_fault_injection(proxy, proxy_iam, iam, kind, error_type, code):
    iam.create_user(UserName="carol")
    rule = proxy.add_fault(kind, action="CreateAccessKey", times=1)
    with pytest.raises(error_type) as error:
        proxy_iam.create_access_key(UserName="carol")
    if code:
        assert error.value.response["Error"]["Code"] == code
    created = iam.list_access_keys(UserName="carol")["AccessKeyMetadata"]
    # "lost" reaches moto (the key exists although the client saw an error); the others do not
    assert len(created) == (1 if kind == "lost" else 0)
    proxy_iam.create_access_key(UserName="carol")  # times=1: the next call goes through
    assert rule.fired == 1
    assert [(call.action, call.fault, call.forwarded) for call in proxy.calls] == [
        ("CreateAccessKey", kind, kind == "lost"),
        ("CreateAccessKey", None, True),
    ]
    assert proxy.calls[0].error_code == code


def test_proxy_slow_fault_and_standard_retries(proxy, iam, iam_client_factory):
    iam.create_user(UserName="dave")
    proxy.add_fault("slow", action="GetUser", times=1, delay=0.5)
    proxy.add_fault("throttle", action="ListUsers", times=2)
    client = iam_client_factory(proxy.url, retries={"total_max_attempts": 5, "mode": "standard"})
    assert client.get_user(UserName="dave")["User"]["UserName"] == "dave"
    assert proxy.calls[0].duration >= 0.5
    assert client.list_users()["Users"][0]["UserName"] == "dave"
    assert [(call.action, call.status, call.error_code) for call in proxy.calls] == [
        ("GetUser", 200, None),
        ("ListUsers", 400, "Throttling"),
        ("ListUsers", 400, "Throttling"),
        ("ListUsers", 200, None),
    ]


def test_clock_advance_moves_create_date_and_date_header(moto, proxy_iam):
    proxy_iam.create_user(UserName="erin")
    before = proxy_iam.create_access_key(UserName="erin")
    start = before["AccessKey"]["CreateDate"]
    assert abs(_date_header(before) - start) < datetime.timedelta(seconds=5)

    moved_to = moto.advance(days=30)
    assert moved_to - start >= datetime.timedelta(days=30)
    after = proxy_iam.create_access_key(UserName="erin")
    created = after["AccessKey"]["CreateDate"]
    assert datetime.timedelta(days=30) <= created - start < datetime.timedelta(days=30, minutes=1)
    # the Date header the modules will compute key ages against follows the same clock
    assert abs(_date_header(after) - created) < datetime.timedelta(seconds=5)
    assert moto.now() - moved_to < datetime.timedelta(minutes=1)


def test_clock_drives_last_used_and_set_time(moto, iam, iam_client_factory):
    iam.create_user(UserName="frank")
    key = iam.create_access_key(UserName="frank")["AccessKey"]
    target = datetime.datetime(2031, 5, 17, 12, 0, tzinfo=UTC)
    assert target <= moto.set_time(target) < target + datetime.timedelta(minutes=1)

    as_frank = iam_client_factory(moto.url, key["AccessKeyId"], key["SecretAccessKey"])
    response = as_frank.list_users()
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200  # SigV4 with a shifted clock is fine
    last_used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
    assert target <= last_used["LastUsedDate"] < target + datetime.timedelta(minutes=1)
    assert last_used["ServiceName"] == "iam"


def test_reset_clears_state_and_clock(moto, iam):
    iam.create_user(UserName="gone-soon")
    assert moto.advance(days=400) - datetime.datetime.now(UTC) > datetime.timedelta(days=399)
    moto.reset()
    assert iam.list_users()["Users"] == []
    assert abs(moto.now() - datetime.datetime.now(UTC)) < datetime.timedelta(minutes=1)


def test_state_is_reset_between_tests_part_1(iam, moto):
    iam.create_user(UserName="leftover")
    moto.advance(days=90)
    assert [user["UserName"] for user in iam.list_users()["Users"]] == ["leftover"]


def test_state_is_reset_between_tests_part_2(iam, moto):
    # runs after part 1 (file order): its user is gone, and the clock part 1 moved is back
    assert iam.list_users()["Users"] == []
    assert abs(moto.now() - datetime.datetime.now(UTC)) < datetime.timedelta(minutes=1)


def test_moto_server_is_a_separate_process(moto):
    assert moto.pid != os.getpid()
    assert moto.is_running()
    assert moto.url == f"http://127.0.0.1:{moto.port}"
    assert json.loads(moto._request("/_clock"))["now"]


def test_moto_server_keeps_connections_open_between_calls(moto, iam):
    """One connection carries many calls, a chunked body included (the server reads each body whole)."""
    iam.create_user(UserName="kept")
    form = "Action=GetUser&Version=2010-05-08&UserName=kept"
    signature = "Credential=testing/20261207/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0"
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"AWS4-HMAC-SHA256 {signature}"}
    connection = http.client.HTTPConnection("127.0.0.1", moto.port, timeout=10)
    try:
        answers = []
        for encode_chunked in (False, True, False):
            body = iter([form.encode()]) if encode_chunked else form
            connection.request("POST", "/", body=body, headers=headers, encode_chunked=encode_chunked)
            response = connection.getresponse()
            answers.append((response.status, b"<UserName>kept</UserName>" in response.read()))
            assert response.getheader("Connection") is None
            assert int(response.getheader("Content-Length")) > 0
        first_socket = connection.sock
        connection.request("GET", "/_clock")
        response = connection.getresponse()
        assert json.loads(response.read())["now"]
        assert connection.sock is first_socket  # never reconnected
    finally:
        connection.close()
    assert answers == [(200, True)] * 3
