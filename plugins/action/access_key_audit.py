# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""keyguard.aws.access_key_audit: gather the accounts' audit results and write the report, on the controller."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.keyguard.aws.plugins.module_utils._audit_report_options import ARGUMENT_SPEC
from ansible_collections.keyguard.aws.plugins.plugin_utils._audit_report import AuditReportError, build_audit_report
from ansible_collections.keyguard.aws.plugins.plugin_utils._audit_report_files import (
    AuditFilesError,
    gather_accounts,
    parse_mode,
    render_files,
    report_paths,
    write_files,
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False  # everything happens in this process, on the controller

    def run(self, tmp=None, task_vars=None):
        super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        hostvars = (task_vars or {}).get("hostvars")
        if hostvars is None or not hasattr(hostvars, "raw_get"):
            raise AnsibleActionFail("no hostvars in this task's variables: the other hosts' results cannot be read")
        try:
            mode = parse_mode(args["mode"], "mode")
            directory_mode = parse_mode(args["directory_mode"], "directory_mode")
            accounts, skipped = gather_accounts(args["hosts"], args["result_var"], _raw_vars(hostvars), self._render)
            report = build_audit_report(
                accounts, args["max_key_age_days"], args["unused_days"], generator=args["generator"]
            )
            texts = render_files(report, dict.fromkeys(args["formats"]))
            if self._task.check_mode:
                files = report_paths(args["dest"], texts)
            else:
                files = write_files(texts, args["dest"], mode, directory_mode)
        except (AuditFilesError, AuditReportError) as error:
            raise AnsibleActionFail(str(error)) from None
        return {
            "changed": True,
            "dest": args["dest"],
            "files": files,
            "generated_at": report["generated_at"],
            "totals": report["totals"],
            "controls": report["controls"],
            "errors": report["errors"],
            "skipped_hosts": skipped,
        }

    def _render(self, variables, value):
        """An account variable, rendered in its host's variables (it may be a template; most often it is not)."""
        if not isinstance(value, str) or "{" not in value:
            return value
        return self._templar.copy_with_new_env(available_variables=variables).template(value)


def _raw_vars(hostvars):
    def raw_vars(host):
        variables = hostvars.raw_get(host)
        return variables if hasattr(variables, "keys") else None  # an undefined marker for an unknown host

    return raw_vars
