# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""The main() of every keyguard.aws module: validate the options, run the task, report the result."""

from __future__ import annotations

import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.keyguard.aws.plugins.module_utils._aws import AwsError
from ansible_collections.keyguard.aws.plugins.module_utils._botocore_loader import tune_module_process


def run_module(argument_spec: dict[str, t.Any], argument_rules: dict[str, t.Any], run: t.Callable[..., dict]) -> None:
    """``run(params, check_mode, diff)`` as a module process: AwsError becomes fail_json, without a traceback."""
    tune_module_process()
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **argument_rules)
    try:
        result = run(module.params, module.check_mode, module._diff)
    except AwsError as exc:
        result = {**exc.result, "failed": True, "msg": exc.message}
    if result.get("failed"):
        # Outside the except block, so no traceback of an expected AWS error is attached to the result.
        module.fail_json(**result)
    module.exit_json(**result)
