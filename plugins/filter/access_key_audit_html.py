# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: access_key_audit_html
version_added: 0.2.0
short_description: An access key audit report as one self-contained HTML page
description:
  - Renders a report made by P(keyguard.aws.access_key_audit_report#filter) as one HTML page with no external assets
    (inline CSS and JavaScript; its Content-Security-Policy forbids loading anything).
  - The page shows the totals, the accounts that could not be audited, the findings per control, a summary per
    account, the root users' findings and every key in a table that sorts by the clicked column header.
  - Every value from AWS is HTML-escaped.
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
- name: Write report.html
  ansible.builtin.copy:
    content: "{{ audit_report | keyguard.aws.access_key_audit_html }}"
    dest: reports/report.html
    mode: "0640"
"""

RETURN = r"""
_value:
  description: The HTML page.
  type: str
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.keyguard.aws.plugins.plugin_utils._audit_report_render import render_html


def access_key_audit_html(report):
    if not isinstance(report, Mapping):
        raise AnsibleFilterError(f"access_key_audit_html expects a report (a mapping), got {type(report).__name__}")
    return render_html(report)


class FilterModule:
    def filters(self):
        return {"access_key_audit_html": access_key_audit_html}
