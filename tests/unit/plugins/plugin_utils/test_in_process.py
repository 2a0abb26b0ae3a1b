# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""When the controller's main process preloads the module code (the fork hook of plugin_utils/_in_process.py)."""

from __future__ import annotations

import os
import sys

import pytest

from ansible_collections.keyguard.aws.plugins.action import iam_access_key as action_plugin
from ansible_collections.keyguard.aws.plugins.module_utils import _botocore_loader
from ansible_collections.keyguard.aws.plugins.plugin_utils import _in_process

MODULE = "ansible_collections.keyguard.aws.plugins.module_utils._key_task"


@pytest.fixture
def preload_state(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A clean preload state: nothing run in-process yet, the module code not imported; records warm-ups."""
    warm_ups: list[str] = []
    monkeypatch.setattr(_in_process, "_TO_PRELOAD", {MODULE})
    monkeypatch.setattr(_botocore_loader, "warm_up", lambda: warm_ups.append("warm_up"))
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    monkeypatch.setattr(_in_process, "botocore_in_controller", lambda: False)  # a playbook without aws_accounts
    flag = _in_process._RAN_IN_PROCESS[0]
    _in_process._RAN_IN_PROCESS[0] = 0
    yield warm_ups
    _in_process._RAN_IN_PROCESS[0] = flag


def test_task_import_name() -> None:
    assert _in_process.task_import_name("_report_task") == (
        "ansible_collections.keyguard.aws.plugins.module_utils._report_task"
    )


def test_loading_an_action_plugin_queues_its_module_for_preloading() -> None:
    assert action_plugin.ActionModule.module_name == "keyguard.aws.iam_access_key"
    # Queued when the class was defined, unless a fork since then preloaded it already.
    assert MODULE in _in_process._TO_PRELOAD or MODULE in sys.modules


def test_no_preload_before_a_task_ran_in_process(preload_state: list[str]) -> None:
    _in_process.preload_in_controller()
    assert MODULE not in sys.modules
    assert preload_state == []
    assert _in_process._TO_PRELOAD == {MODULE}


def test_preload_after_a_task_ran_in_process(preload_state: list[str]) -> None:
    _in_process._RAN_IN_PROCESS[0] = 1
    _in_process.preload_in_controller()
    assert MODULE in sys.modules
    assert preload_state == ["warm_up"]
    assert _in_process._TO_PRELOAD == set()
    _in_process.preload_in_controller()  # nothing left to do: no second warm-up
    assert preload_state == ["warm_up"]


def test_preload_before_the_first_task_when_botocore_is_loaded_already(
    preload_state: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_in_process, "botocore_in_controller", lambda: True)  # the aws_accounts inventory ran
    _in_process.preload_in_controller()
    assert MODULE in sys.modules
    assert preload_state == ["warm_up"]


def test_botocore_in_controller_looks_at_this_process_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _in_process.botocore_in_controller() is True  # _botocore_loader, imported above, imports botocore.session
    monkeypatch.delitem(sys.modules, "botocore.session")
    assert _in_process.botocore_in_controller() is False


def test_only_the_controller_main_process_preloads(preload_state: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_in_process, "_CONTROLLER_PID", os.getpid() + 1)
    _in_process._RAN_IN_PROCESS[0] = 1
    _in_process.preload_in_controller()
    assert MODULE not in sys.modules
    assert preload_state == []


# The child only sets a byte and exits, so the threads of pytest-xdist's worker cannot deadlock it.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of fork:DeprecationWarning")
def test_a_forked_child_sets_the_flag_the_parent_reads() -> None:
    """The flag lives in shared memory: a worker (a fork) setting it is seen by the main process."""
    saved = _in_process._RAN_IN_PROCESS[0]
    _in_process._RAN_IN_PROCESS[0] = 0
    try:
        pid = os.fork()
        if pid == 0:  # the child: as a worker does when it runs a task in-process
            _in_process._RAN_IN_PROCESS[0] = 1
            os._exit(0)
        status = os.waitpid(pid, 0)[1]
        assert os.waitstatus_to_exitcode(status) == 0
        assert _in_process._RAN_IN_PROCESS[0] == 1
    finally:
        _in_process._RAN_IN_PROCESS[0] = saved


@pytest.fixture
def pythons(tmp_path):
    """A controller venv-like layout: bin/python, bin/python3 -> python, and another venv linking to the same base."""
    base = tmp_path / "base" / "python3.11"
    base.parent.mkdir()
    base.write_text("")
    venv = tmp_path / "venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python").symlink_to(base)
    (venv / "python3").symlink_to(venv / "python")
    other = tmp_path / "other" / "bin"
    other.mkdir(parents=True)
    (other / "python").symlink_to(base)
    return {
        "base": str(base),
        "python": str(venv / "python"),
        "python3": str(venv / "python3"),
        "other": str(other / "python"),
    }


@pytest.mark.parametrize("interpreter", [None, "", "  ", "auto", "auto_silent", "auto_legacy", "auto_legacy_silent"])
def test_unset_or_auto_interpreter_runs_in_process(interpreter: str | None, pythons: dict) -> None:
    assert _in_process.foreign_interpreter_reason(interpreter, pythons["python"], pythons["python"]) is None


@pytest.mark.parametrize(
    ("interpreter", "playbook_python", "foreign"),
    [
        pytest.param("python", "python", False, id="the-controller-python"),
        pytest.param("python3", "python", False, id="another-name-in-the-same-venv"),
        pytest.param("other", "python", True, id="another-venv-on-the-same-base-symlinks-not-resolved"),
        pytest.param("base", "python", True, id="the-base-interpreter-of-the-controller-venv"),
        pytest.param("other", None, True, id="no-ansible-playbook-python"),
    ],
)
def test_interpreter_compared_as_paths(
    interpreter: str, playbook_python: str | None, foreign: bool, pythons: dict
) -> None:
    reason = _in_process.foreign_interpreter_reason(
        pythons[interpreter], pythons[playbook_python] if playbook_python else None, pythons["python"]
    )
    if foreign:
        assert (
            reason
            == f"ansible_python_interpreter is {pythons[interpreter]}, not the controller's Python {pythons['python']}"
        )
    else:
        assert reason is None


def test_sys_executable_counts_as_the_controller_python(pythons: dict) -> None:
    # ansible_playbook_python differs (e.g. set by an inventory), the controller's own executable still matches
    assert _in_process.foreign_interpreter_reason(pythons["python"], pythons["other"], pythons["python"]) is None
    assert _in_process.foreign_interpreter_reason("/nonexistent/python", None, pythons["python"]) is not None
