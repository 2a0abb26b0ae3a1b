# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a playbook's time goes: the wall time of each task (all hosts together), with the controller's CPU.

Enabled by benchmarks/organization.py --task-timing; by hand:

    ANSIBLE_CALLBACK_PLUGINS=benchmarks/callback_plugins ANSIBLE_CALLBACKS_ENABLED=task_timing \\
    TASK_TIMING_FILE=timing.txt ansible-playbook ...

Each line: seconds from this task's start to the next one's, the time since the playbook began, the controller
process's CPU and its reaped workers' CPU so far, the task's name.
"""

from __future__ import annotations

import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: task_timing
type: aggregate
short_description: Write each task's wall time to TASK_TIMING_FILE (keyguard.aws benchmarks)
description:
  - Benchmark helper of keyguard.aws, not shipped in the collection.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._began = self._last = time.monotonic()
        self._name = "start"
        self._path = os.environ.get("TASK_TIMING_FILE", "task_timing.txt")

    def _mark(self, name: str) -> None:
        now, cpu = time.monotonic(), os.times()
        with open(self._path, "a", encoding="utf-8") as output:
            output.write(
                f"{now - self._last:8.2f} s  at {now - self._began:7.2f} s  CPU {cpu.user + cpu.system:6.2f} s, "
                f"workers {cpu.children_user + cpu.children_system:6.2f} s  {self._name}\n"
            )
        self._last, self._name = now, name

    def v2_playbook_on_play_start(self, play):
        self._mark(f"PLAY {play.get_name()}")

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._mark(task.get_name())

    def v2_playbook_on_stats(self, stats):
        self._mark("end")
