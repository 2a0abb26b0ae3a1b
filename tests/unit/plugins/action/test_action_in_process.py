# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The action plugins' in-process path, called as the strategy calls it: ActionModule(task, connection, ...).run()
with a local connection; IAM is moto's in-process mock, read back with boto3."""

from __future__ import annotations

import sys
import typing as t
from unittest import mock

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.keyguard.aws.plugins.action import iam_access_key, iam_access_key_info
from ansible_collections.keyguard.aws.plugins.plugin_utils import _in_process


@pytest.fixture
def iam(moto_iam: t.Any, monkeypatch: pytest.MonkeyPatch) -> t.Any:
    monkeypatch.setattr(_in_process, "_CLIENTS", {})  # clients made inside this test's mock only
    return moto_iam


def action(plugin: t.Any, args: dict[str, t.Any], check_mode: bool = False, connection: str = "local") -> t.Any:
    task = mock.MagicMock(args=args, check_mode=check_mode, diff=False, async_val=0, become=False, environment=[])
    shell = mock.MagicMock(tmpdir="/tmp")
    conn = mock.MagicMock(_load_name=connection, transport=connection, _shell=shell)
    loader = DataLoader()
    return plugin.ActionModule(task, conn, mock.MagicMock(), loader, Templar(loader=loader), None)


TASK_VARS = {"ansible_playbook_python": sys.executable, "inventory_hostname": "localhost"}


def test_in_process_creates_then_reports_no_change(iam: t.Any) -> None:
    args = {"user_name": "alice", "state": "active"}
    plugin = action(iam_access_key, args)
    assert plugin.module_path_reason(TASK_VARS) is None
    created = plugin.run(task_vars=TASK_VARS)
    (key_id,) = [key["AccessKeyId"] for key in iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]]
    assert created["changed"] is True and created["access_key"]["access_key_id"] == key_id
    assert len(created["secret_access_key"]) == 40
    assert created["invocation"]["module_args"]["user_name"] == "alice"

    again = action(iam_access_key, args).run(task_vars=TASK_VARS)
    assert (again["changed"], "secret_access_key" in again) == (False, False)
    assert len(iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]) == 1


def test_in_process_bad_input_is_worded_as_the_module_words_it(iam: t.Any) -> None:
    result = action(iam_access_key, {"user_name": "alice", "rotate_days": 3}).run(task_vars=TASK_VARS)
    assert result["failed"] is True
    assert result["msg"].startswith("Unsupported parameters for (keyguard.aws.iam_access_key) module: rotate_days")
    assert iam.list_access_keys(UserName="alice")["AccessKeyMetadata"] == []


def test_in_process_masks_no_log_values(iam: t.Any) -> None:
    args = {"user_name": "ghost", "access_key": "AKIAEXAMPLEEXAMPLE01", "secret_key": "s3cr3t-value"}
    outcome = action(iam_access_key_info, args).run(task_vars=TASK_VARS)
    assert (outcome["failed"], outcome["msg"]) == (True, "IAM user ghost does not exist")
    assert "s3cr3t-value" not in str(outcome)
    assert outcome["invocation"]["module_args"]["secret_key"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


@pytest.mark.parametrize(
    ("connection", "task_vars", "reason"),
    [
        pytest.param("ssh", TASK_VARS, "the connection is ssh, not local", id="remote"),
        pytest.param(
            "local",
            {**TASK_VARS, "ansible_python_interpreter": "/opt/venv/bin/python"},
            f"ansible_python_interpreter is /opt/venv/bin/python, not the controller's Python {sys.executable}",
            id="another-python",
        ),
        pytest.param(
            "local", {**TASK_VARS, "keyguard_aws_in_process": False}, "keyguard_aws_in_process is false", id="off"
        ),
    ],
)
def test_module_path_reasons(iam: t.Any, connection: str, task_vars: dict[str, t.Any], reason: str) -> None:
    assert action(iam_access_key, {"user_name": "alice"}, connection=connection).module_path_reason(task_vars) == reason
