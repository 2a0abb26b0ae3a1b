# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""When the controller's main process preloads the module code (the fork hook of plugin_utils/_in_process.py)."""

from __future__ import annotations

import os
import sys

import pytest

from ansible_collections.keyguard.aws.plugins.action import iam_access_key as action_plugin
from ansible_collections.keyguard.aws.plugins.plugin_utils import _in_process

MODULE = "ansible_collections.keyguard.aws.plugins.modules.iam_access_key"


@pytest.fixture
def preload_state(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A clean preload state: nothing run in-process yet, the module code not imported; records warm-ups."""
    warm_ups: list[str] = []
    monkeypatch.setattr(_in_process, "_TO_PRELOAD", {MODULE})
    monkeypatch.setattr(_in_process.aws_utils(), "warm_up", lambda: warm_ups.append("warm_up"))
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    flag = _in_process._RAN_IN_PROCESS[0]
    _in_process._RAN_IN_PROCESS[0] = 0
    yield warm_ups
    _in_process._RAN_IN_PROCESS[0] = flag


def test_module_import_name() -> None:
    assert _in_process.module_import_name("keyguard.aws.iam_access_key_info") == (
        "ansible_collections.keyguard.aws.plugins.modules.iam_access_key_info"
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
