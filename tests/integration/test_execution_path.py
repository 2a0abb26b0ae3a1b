# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The in-process action plugins and the modules give the same results, and the switch picks the path."""

from __future__ import annotations

import os

import pytest

WRITE_ACTIONS = {"CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey", "TagUser", "UntagUser"}


def keys_of(iam, user_name: str) -> list[tuple[str, str]]:
    return sorted(
        (key["AccessKeyId"], key["Status"]) for key in iam.list_access_keys(UserName=user_name)["AccessKeyMetadata"]
    )


def test_suite_runs_on_the_configured_path(run_playbook, iam) -> None:
    iam.create_user(UserName="path-user")
    result = run_playbook(
        [{"name": "info", "keyguard.aws.iam_access_key_info": {"user_name": "path-user"}}], verbosity=3
    )
    assert result.rc == 0, result.summary()
    configured = os.environ.get("KEYGUARD_TEST_EXECUTION", "in_process")  # as tests/integration/conftest.py reads it
    expected = "running the module" if configured == "module" else "running in-process on the controller"
    assert f"keyguard.aws.iam_access_key_info: {expected}" in result.stdout
    assert result.task("info")["access_keys"] == [] and keys_of(iam, "path-user") == []


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param({"KEYGUARD_AWS_IN_PROCESS": "1"}, "running in-process on the controller", id="in-process"),
        pytest.param(
            {"KEYGUARD_AWS_IN_PROCESS": "0"}, "running the module (keyguard_aws_in_process is false)", id="env"
        ),
    ],
)
def test_both_paths_give_the_same_results(run_playbook, iam, proxy, env, expected) -> None:
    iam.create_user(UserName="same-user")
    tasks = [
        {
            "name": "preview",
            "keyguard.aws.iam_access_key": {"user_name": "same-user", "description": "app", "state": "active"},
            "check_mode": True,
            "diff": True,
        },
        {
            "name": "create",
            "keyguard.aws.iam_access_key": {"user_name": "same-user", "description": "app", "state": "active"},
            "no_log": False,
        },
        {"name": "again", "keyguard.aws.iam_access_key": {"user_name": "same-user", "description": "app"}},
        {
            "name": "bad",
            "keyguard.aws.iam_access_key": {"user_name": "same-user", "state": "bogus"},
            "ignore_errors": True,
        },
    ]
    result = run_playbook(tasks, env=env, verbosity=3)
    assert result.rc == 0, result.summary()
    assert f"keyguard.aws.iam_access_key: {expected}" in result.stdout

    preview, created, again, bad = (result.task(name) for name in ("preview", "create", "again", "bad"))
    assert preview["changed"] is True
    assert preview["actions"] == [
        {"action": "create", "access_key_id": None},
        {"action": "describe", "access_key_id": None},
    ]
    assert preview["diff"]["before"] == {"access_keys": []}
    ((key_id, status),) = keys_of(iam, "same-user")
    assert status == "Active"
    assert created["access_key"]["access_key_id"] == key_id and created["secret_access_key"]
    assert created["actions"] == [
        {"action": "create", "access_key_id": key_id},
        {"action": "describe", "access_key_id": key_id},
    ]
    assert iam.list_user_tags(UserName="same-user")["Tags"] == [{"Key": key_id, "Value": "app"}]
    assert again["changed"] is False and "secret_access_key" not in again
    # ansible-core reports the arguments back (newer releases may leave them out); never a no_log value
    if "invocation" in again:
        assert again["invocation"]["module_args"]["secret_key"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert bad["failed"] is True
    assert bad["msg"] == "value of state must be one of: present, active, inactive, absent, got: bogus"
    assert keys_of(iam, "same-user") == [(key_id, "Active")]
    assert proxy.actions().count("CreateAccessKey") == 1
    assert set(proxy.actions()) & WRITE_ACTIONS == {"CreateAccessKey", "TagUser"}
