# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The modules' main(), as ansible-core documents module unit tests: the arguments given to AnsibleModule, exit_json
and fail_json turned into exceptions that carry the result; IAM is moto's in-process mock, read back with boto3."""

from __future__ import annotations

import json
import typing as t

import pytest
from ansible.module_utils import basic

from ansible_collections.keyguard.aws.plugins.modules import access_key_audit, iam_access_key, iam_access_key_info

try:  # ansible-core 2.19 and later
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core 2.17 and 2.18: the documented _ANSIBLE_ARGS pattern
    import contextlib

    @contextlib.contextmanager
    def patch_module_args(args: dict[str, t.Any]) -> t.Iterator[None]:
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved


class ExitJson(Exception):
    pass


class FailJson(Exception):
    pass


@pytest.fixture(autouse=True)
def module_exits(monkeypatch: pytest.MonkeyPatch) -> None:
    def exit_json(self: t.Any, **result: t.Any) -> None:
        raise ExitJson(result)

    def fail_json(self: t.Any, msg: str, **result: t.Any) -> None:
        raise FailJson({"msg": msg, **result})

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)


@pytest.fixture
def iam(moto_iam: t.Any) -> t.Any:
    return moto_iam


def run_main(module: t.Any, args: dict[str, t.Any]) -> tuple[type[Exception], dict[str, t.Any]]:
    with patch_module_args(args), pytest.raises((ExitJson, FailJson)) as outcome:
        module.main()
    return outcome.type, outcome.value.args[0]


def keys_of(iam: t.Any, user_name: str) -> dict[str, str]:
    return {key["AccessKeyId"]: key["Status"] for key in iam.list_access_keys(UserName=user_name)["AccessKeyMetadata"]}


def test_main_check_mode_then_create_then_no_change(iam: t.Any) -> None:
    args = {"user_name": "alice", "state": "active", "description": "ci"}
    outcome, checked = run_main(iam_access_key, {**args, "_ansible_check_mode": True, "_ansible_diff": True})
    assert outcome is ExitJson
    assert checked["changed"] is True and "secret_access_key" not in checked
    assert checked["diff"]["before"] == {"access_keys": []}
    assert keys_of(iam, "alice") == {}

    outcome, created = run_main(iam_access_key, args)
    assert outcome is ExitJson
    (key_id,) = keys_of(iam, "alice")
    assert created["actions"] == [
        {"action": "create", "access_key_id": key_id},
        {"action": "describe", "access_key_id": key_id},
    ]
    assert len(created["secret_access_key"]) == 40 and "diff" not in created
    assert iam.list_user_tags(UserName="alice")["Tags"] == [{"Key": key_id, "Value": "ci"}]

    outcome, again = run_main(iam_access_key, args)
    assert (outcome, again["changed"], again["access_key"]["access_key_id"]) == (ExitJson, False, key_id)
    assert "secret_access_key" not in again
    assert keys_of(iam, "alice") == {key_id: "Active"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            {"user_name": "alice", "state": "enabled"},
            "value of state must be one of: present, active, inactive, absent, got: enabled",
            id="argspec-choice",
        ),
        pytest.param({"state": "active"}, "one of the following is required: user_name, id", id="argspec-required"),
        pytest.param({"user_name": "ghost", "state": "active"}, "IAM user ghost does not exist", id="aws-error"),
        pytest.param(
            {"user_name": "alice", "rotate_after_days": 0}, "rotate_after_days must be at least 1, got 0", id="range"
        ),
    ],
)
def test_main_fails_clearly_and_changes_nothing(iam: t.Any, args: dict[str, t.Any], message: str) -> None:
    outcome, result = run_main(iam_access_key, args)
    assert outcome is FailJson
    assert result["msg"] == message
    assert "exception" not in result  # an expected error carries no traceback
    assert keys_of(iam, "alice") == {}


def test_info_main_reports_the_account(iam: t.Any) -> None:
    created = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    outcome, result = run_main(iam_access_key_info, {"include_last_used": False})
    assert outcome is ExitJson
    assert [(entry["access_key_id"], entry["user_name"], entry["status"]) for entry in result["access_keys"]] == [
        (created, "alice", "Active")
    ]
    assert result["changed"] is False and result["count"] == 1
    outcome, failed = run_main(iam_access_key_info, {"user_name": "alice", "path_prefix": "/"})
    assert (outcome, failed["msg"]) == (FailJson, "parameters are mutually exclusive: path_prefix|user_name")


def test_access_key_audit_is_an_action_and_refuses_to_run_as_a_module(tmp_path) -> None:
    """Its action plugin always takes the task; the module file, run anyway, says so and writes nothing."""
    outcome, result = run_main(
        access_key_audit, {"hosts": ["prod"], "result_var": "audit", "dest": str(tmp_path / "out")}
    )
    assert outcome is FailJson
    assert result["msg"].startswith("keyguard.aws.access_key_audit runs on the controller through its action plugin")
    assert not (tmp_path / "out").exists()
