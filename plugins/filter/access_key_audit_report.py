# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: access_key_audit_report
version_added: 0.2.0
short_description: Gather whole-account access key reports of many accounts into one audit report
description:
  - Takes one entry per account, each with the registered result of a whole-account
    M(keyguard.aws.iam_access_key_info) task run with O(keyguard.aws.iam_access_key_info#module:include_findings=true),
    and returns one report, the structure C(playbooks/audit_organization.yml) writes as C(report.json).
  - It only regroups what the module returned; findings are not recomputed. A failed result makes its account an
    error of the report, with the task's message as the reason.
  - Linear in the number of keys, so it suits organizations of hundreds of accounts and many thousands of keys.
positional: _input
options:
  _input:
    description:
      - One mapping per account.
      - V(result) is the registered module result (required); V(account_id), V(account_name), V(host),
        V(ou_path) and V(assume_role_arn) describe the account, as the P(keyguard.aws.aws_accounts#inventory)
        inventory's variables do. V(account_name) defaults to V(host).
    type: list
    elements: dict
    required: true
  max_key_age_days:
    description: The key age limit the module's findings used, written in the report's header.
    type: int
    default: 90
  unused_days:
    description: The unused-key limit the module's findings used, written in the report's header.
    type: int
    default: 45
  generator:
    description: What made the report, written in it.
    type: str
    default: keyguard.aws
seealso:
  - plugin: keyguard.aws.access_key_audit_csv
    plugin_type: filter
  - plugin: keyguard.aws.access_key_audit_html
    plugin_type: filter
"""

EXAMPLES = r"""
# Each host of the aws_accounts group (keyguard.aws.aws_accounts inventory) ran a whole-account
# keyguard.aws.iam_access_key_info with include_findings, registered as audit.
- name: Gather every account's result into one report
  ansible.builtin.set_fact:
    audit_report: >-
      {%- set accounts = namespace(items=[]) -%}
      {%- for host in groups['aws_accounts'] -%}
        {%- set accounts.items = accounts.items + [{
              'host': host,
              'account_id': hostvars[host].aws_account_id,
              'account_name': hostvars[host].aws_account_name,
              'ou_path': hostvars[host].aws_account_ou_path,
              'result': hostvars[host].audit}] -%}
      {%- endfor -%}
      {{ accounts.items | keyguard.aws.access_key_audit_report(max_key_age_days=90, unused_days=45) }}
"""

RETURN = r"""
_value:
  description:
    - The report. V(generated_at) (UTC, C(YYYY-MM-DDTHH:MM:SSZ)), V(generator), V(thresholds), V(totals)
      (accounts, accounts_audited, accounts_failed, keys, active_keys, findings), V(accounts) (one summary each,
      sorted by name), V(keys) (every key as the module returned it, with its account), V(findings) (each with its
      account, user and key; the root user's under the user name C(<root_account>)), V(controls) (count and accounts
      per CIS control) and V(errors) (the accounts that could not be audited, with the reason).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.keyguard.aws.plugins.plugin_utils._audit_report import AuditReportError, build_audit_report


def access_key_audit_report(accounts, max_key_age_days=90, unused_days=45, generator="keyguard.aws"):
    try:
        return build_audit_report(accounts, int(max_key_age_days), int(unused_days), generator=str(generator))
    except (AuditReportError, TypeError, ValueError) as error:
        raise AnsibleFilterError(f"access_key_audit_report: {error}") from error


class FilterModule:
    def filters(self):
        return {"access_key_audit_report": access_key_audit_report}
