# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: access_key_audit_csv
version_added: 0.2.0
short_description: An access key audit report as CSV, one row per key
description:
  - Renders the V(keys) of a report made by P(keyguard.aws.access_key_audit_report#filter) as CSV text.
  - A header row, then one row per key with the columns V(account_id), V(account_name), V(user_name),
    V(access_key_id), V(status), V(age_days), V(last_used_date), V(last_used_service), V(last_used_region) and
    V(findings) (the key's CIS control ids, separated by C(;)). Every cell is quoted; an empty value is an empty cell.
  - A value starting with C(=), C(+), C(-) or C(@) gets a leading C(') so that spreadsheets do not run it as a
    formula (IAM user names may contain C(=), C(+) and C(@)).
positional: _input
options:
  _input:
    description: The report.
    type: dict
    required: true
seealso:
  - plugin: keyguard.aws.access_key_audit_report
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Write report.csv
  ansible.builtin.copy:
    content: "{{ audit_report | keyguard.aws.access_key_audit_csv }}"
    dest: reports/report.csv
    mode: "0640"
"""

RETURN = r"""
_value:
  description: The CSV text, lines ending in a newline.
  type: str
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.keyguard.aws.plugins.plugin_utils._audit_report_render import render_csv


def access_key_audit_csv(report):
    if not isinstance(report, Mapping):
        raise AnsibleFilterError(f"access_key_audit_csv expects a report (a mapping), got {type(report).__name__}")
    return render_csv(report)


class FilterModule:
    def filters(self):
        return {"access_key_audit_csv": access_key_audit_csv}
