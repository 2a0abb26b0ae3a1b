# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import datetime
import json

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: keyguard_results
type: aggregate
short_description: Write every task result as a JSON line (test harness)
description:
  - Test-only callback of the keyguard.aws integration harness (not shipped in plugins/).
  - Appends one JSON object per task result, and one for the final stats, to O(path).
  - Each task record has C(event=task), C(task), C(action), C(host), C(status), C(ignore_errors)
    and C(result), the module's full result with C(changed), C(failed) and C(skipped) always set.
requirements:
  - enable it in callbacks_enabled
options:
  path:
    description: File to append the JSON lines to. Nothing is written when unset.
    env:
      - name: KEYGUARD_TEST_RESULTS_FILE
    type: path
"""


def _default(value):
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "as_dict"):
        return value.as_dict()
    return str(value)


def _field(result, name):
    """``result.<name>``: public on ansible-core >= 2.19's CallbackTaskResult, ``_<name>`` on older TaskResult."""
    try:
        return getattr(result, name)
    except AttributeError:
        return getattr(result, f"_{name}")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "keyguard_results"
    CALLBACK_NEEDS_ENABLED = True

    def _write(self, record):
        path = self.get_option("path")
        if not path:
            return
        line = json.dumps(record, default=_default, sort_keys=True)
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def _task_record(self, result, status, ignore_errors=False):
        data = dict(_field(result, "result"))
        data["changed"] = bool(data.get("changed", False))
        data["failed"] = status in ("failed", "unreachable")
        data["skipped"] = status == "skipped"
        if status == "unreachable":
            data["unreachable"] = True
        task = _field(result, "task")
        self._write(
            {
                "event": "task",
                "task": result.task_name,
                "action": task.action,
                "resolved_action": getattr(task, "resolved_action", None),
                "host": _field(result, "host").get_name(),
                "status": status,
                "ignore_errors": bool(ignore_errors),
                "check_mode": bool(task.check_mode),
                "result": data,
            }
        )

    def v2_runner_on_ok(self, result):
        self._task_record(result, "changed" if result.is_changed() else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._task_record(result, "failed", ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._task_record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._task_record(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        hosts = sorted(stats.processed.keys())
        self._write({"event": "stats", "stats": {host: stats.summarize(host) for host in hosts}})
