# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Attribute descriptions; each module states its level of support.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode and return a changed status prediction without modifying the target.
  diff_mode:
    description: Returns details on what has changed (or would change in check mode) when run with C(--diff).
  idempotent:
    description:
      - When run twice in a row with the same arguments, the second run reports no change and makes no write call.
"""

    ACTION_GROUP = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/keyguard.aws.aws) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - keyguard.aws.aws
"""

    IN_PROCESS = r"""
options: {}
notes:
  - When the task runs on the controller (a C(local) connection, for example with C(delegate_to=localhost)) and
    botocore is importable there, the module's code runs inside the controller's worker process through an action
    plugin of the same name, with the same argument validation, check mode, diff mode and C(no_log) handling, and one
    IAM client reused across loop items. This saves the start-up of a new Python process per task and loop item.
  - The module runs as usual on remote hosts, for C(async) or C(become) tasks, for tasks that set C(environment),
    when botocore is missing on the controller, and when the task's Python interpreter is not the controller's own
    (C(ansible_python_interpreter) set to anything but an C(auto) value, C(ansible_playbook_python) or the
    controller's executable, compared as paths without resolving symlinks, since a venv's python is a symlink to its
    base interpreter with other packages). So a localhost pointed at a venv gets that venv's botocore.
  - Set the variable C(keyguard_aws_in_process=false), or the environment variable E(KEYGUARD_AWS_IN_PROCESS=0) on
    the controller, to always run the module. C(-vvv) shows which path ran and why.
"""

    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details: This module only reads and never changes anything.
  diff_mode:
    support: N/A
    details: This module never changes anything.
  idempotent:
    support: full
"""
