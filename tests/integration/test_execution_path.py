# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The in-process action plugins and the modules give the same results, and the switch picks the path."""

from __future__ import annotations

import os
import subprocess
import sys

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


def task_output(stdout: str, name: str) -> str:
    """The -vvv output of task ``name``: from its TASK header to the next one."""
    return stdout.split(f"TASK [{name}]", 1)[1].split("TASK [", 1)[0]


def test_a_task_on_another_python_runs_the_module_there(run_playbook, iam, tmp_path) -> None:
    """Users point localhost at a venv to choose their SDK: in-process only on the controller's own Python."""
    bare = tmp_path / "bare-venv"  # a venv's python is a symlink to the base interpreter, without our packages
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    bare_python = str(bare / "bin" / "python")
    iam.create_user(UserName="interpreter-user")
    key = {"user_name": "interpreter-user", "state": "active"}
    cases = {
        "bare venv": (bare_python, "running the module (ansible_python_interpreter is " + bare_python),
        "controller python": (sys.executable, "running in-process on the controller"),
        "templated playbook python": ("{{ ansible_playbook_python }}", "running in-process on the controller"),
        "auto": ("auto_silent", "running in-process on the controller"),
    }
    tasks = [
        {
            "name": "bare venv",
            "keyguard.aws.iam_access_key": key,
            "vars": {"ansible_python_interpreter": bare_python},
            "ignore_errors": True,
        },
        *(
            {
                "name": name,
                "keyguard.aws.iam_access_key_info": {"user_name": "interpreter-user"},
                "vars": {"ansible_python_interpreter": python},
            }
            for name, (python, _marker) in cases.items()
            if name != "bare venv"
        ),
    ]
    result = run_playbook(tasks, env={"KEYGUARD_AWS_IN_PROCESS": "1"}, verbosity=3)
    assert result.rc == 0, result.summary()
    for name, (_python, marker) in cases.items():
        assert marker in task_output(result.stdout, name), name

    failed = result.task("bare venv")
    assert failed["failed"] is True
    assert "keyguard.aws requires botocore >= 1.34.0 on the host that runs the module" in failed["msg"]
    assert keys_of(iam, "interpreter-user") == []  # the module failed before any call: no key was made
    for name in ("controller python", "templated playbook python", "auto"):
        assert result.task(name)["access_keys"] == [], name
