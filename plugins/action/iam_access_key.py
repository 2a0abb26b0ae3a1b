# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Runs keyguard.aws.iam_access_key in-process on the controller when the task is local.

See plugins/plugin_utils/_in_process.py for when it does and how to switch it off.
"""

from __future__ import annotations

from ansible_collections.keyguard.aws.plugins.plugin_utils._in_process import InProcessModuleAction


class ActionModule(InProcessModuleAction):
    module_name = "keyguard.aws.iam_access_key"
    task_module = "_key_task"
