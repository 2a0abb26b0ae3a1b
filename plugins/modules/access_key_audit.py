#!/usr/bin/python
# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: access_key_audit
short_description: Write the access key audit report of many accounts (JSON, CSV, HTML) on the controller
version_added: 0.2.0
description:
  - Gathers the registered results of a whole-account M(keyguard.aws.iam_access_key_info) task (with
    O(keyguard.aws.iam_access_key_info#module:include_findings=true)) from many inventory hosts, one host per AWS
    account, into one report, and writes it as C(report.json), C(report.csv) and C(report.html) in O(dest).
  - It only regroups and renders what the module returned; findings are not recomputed. A failed result makes its
    account an error of the report, with the task's message as the reason.
  - Each host's account is described by the variables C(aws_account_id), C(aws_account_name) (defaults to the host
    name), C(aws_account_ou_path) and C(assume_role_arn), as the P(keyguard.aws.aws_accounts#inventory) inventory
    sets them.
  - The results are read once, as stored, and the files written directly, so the task takes time linear in the
    keys (about a second for 20 accounts of 200 keys). Gathering them with Jinja and writing them with
    M(ansible.builtin.copy) walks every result several times through Ansible's templating.
  - The same report as the P(keyguard.aws.access_key_audit_report#filter) filter builds, and the same CSV and HTML as
    the P(keyguard.aws.access_key_audit_csv#filter) and P(keyguard.aws.access_key_audit_html#filter) filters render.
  - This is an action plugin. It always runs on the controller, whatever host the task targets, and writes the files
    there.
author:
  - keyguard.aws developers (@keyguard-aws)
options:
  hosts:
    description:
      - The inventory hosts (accounts) whose results go into the report, for example V({{ ansible_play_hosts_all }})
        of the play that ran the audit task.
      - A host without O(result_var) (it did not run the audit task, for example because of C(--limit)) is left out
        and listed in RV(skipped_hosts). None of them having it is an error, which usually means a wrong
        O(result_var).
    type: list
    elements: str
    required: true
  result_var:
    description:
      - The name the audit task registered its result under (its C(register) keyword).
    type: str
    required: true
  dest:
    description:
      - The folder to write the report into, on the controller. Created (with O(directory_mode)) if missing.
    type: path
    required: true
  formats:
    description:
      - Which files to write. V(json) is C(report.json), the whole report; V(csv) is C(report.csv), one row per key
        (a value starting with C(=), C(+), C(-) or C(@) gets a leading C(') so that spreadsheets do not run it as a
        formula); V(html) is C(report.html), one self-contained page (no external assets) with summaries per
        account and per control, the errors, and every key in a table sorted by clicking its headers.
    type: list
    elements: str
    choices: [json, csv, html]
    default: [json, csv, html]
  mode:
    description:
      - The permissions of the report files, as an octal string such as V("0640") or a number.
    type: raw
    default: "0640"
  directory_mode:
    description:
      - The permissions of O(dest) when this task creates it. An existing folder is left as it is.
    type: raw
    default: "0750"
  max_key_age_days:
    description:
      - The key age limit the findings used (the audit task's
        O(keyguard.aws.iam_access_key_info#module:findings_max_key_age_days)), written in the report's header.
    type: int
    default: 90
  unused_days:
    description:
      - The unused-key limit the findings used (the audit task's
        O(keyguard.aws.iam_access_key_info#module:findings_unused_days)), written in the report's header.
    type: int
    default: 45
  generator:
    description:
      - What made the report, written in it.
    type: str
    default: keyguard.aws
notes:
  - In check mode the report is built and nothing is written; the result says what would be.
  - The report is regenerated on every run (it carries the time it was made), so the task always reports a change
    when it writes.
  - The files hold key ids, user names and last use, never secrets; keep O(mode) restrictive all the same.
seealso:
  - module: keyguard.aws.iam_access_key_info
  - plugin: keyguard.aws.aws_accounts
    plugin_type: inventory
  - plugin: keyguard.aws.access_key_audit_report
    plugin_type: filter
"""

EXAMPLES = r"""
# An earlier play ran the audit on every host of the aws_accounts group (keyguard.aws.aws_accounts inventory):
#   keyguard.aws.iam_access_key_info with assume_role_arn: "{{ assume_role_arn }}" and include_findings: true,
#   register: audit_account, ignore_errors: true (an account that cannot be audited is reported as an error).
# These tasks run in a later play on localhost.
- name: Write report.json, report.csv and report.html
  keyguard.aws.access_key_audit:
    hosts: "{{ groups['aws_accounts'] }}"
    result_var: audit_account
    dest: reports/2026-12
  register: audit

- name: Say what was found
  ansible.builtin.debug:
    msg: "{{ audit.totals.findings }} findings in {{ audit.totals.accounts_audited }} accounts"

- name: Only the CSV, readable by the group
  keyguard.aws.access_key_audit:
    hosts: "{{ groups['aws_accounts'] }}"
    result_var: audit_account
    dest: /srv/reports/keys
    formats: [csv]
    mode: "0644"
"""

RETURN = r"""
dest:
  description: The folder the report is written into, as given (user home expanded).
  returned: always
  type: str
  sample: reports/2026-12
files:
  description: The path of each file written (or, in check mode, that would be), by format.
  returned: always
  type: dict
  sample: {"json": "reports/2026-12/report.json", "csv": "reports/2026-12/report.csv"}
generated_at:
  description: When the report was made (UTC), as written in it.
  returned: always
  type: str
  sample: "2026-12-07T21:40:00Z"
totals:
  description: The report's totals.
  returned: always
  type: dict
  contains:
    accounts:
      description: Accounts in the report.
      type: int
    accounts_audited:
      description: Accounts whose audit task succeeded.
      type: int
    accounts_failed:
      description: Accounts whose audit task failed (listed in RV(errors)).
      type: int
    keys:
      description: Access keys reported.
      type: int
    active_keys:
      description: Of those, the Active ones.
      type: int
    findings:
      description: Findings of all keys and root users.
      type: int
  sample: {"accounts": 20, "accounts_audited": 19, "accounts_failed": 1, "keys": 3800, "active_keys": 3100,
           "findings": 412}
controls:
  description: How many findings each CIS control has, and in how many accounts.
  returned: always
  type: list
  elements: dict
  sample: [{"finding": "key_not_rotated", "cis_control": "1.14", "cis_version": "3.0.0",
            "security_hub_control": "IAM.3", "title": "An active access key is older than allowed", "count": 210,
            "account_count": 17}]
errors:
  description: The accounts that could not be audited, with the reason (the audit task's message).
  returned: always
  type: list
  elements: dict
  sample: [{"account_id": "123456789012", "account_name": "sandbox", "host": "sandbox",
            "error": "sts:AssumeRole of role arn:aws:iam::123456789012:role/KeyguardAudit failed: AccessDenied: ..."}]
skipped_hosts:
  description: Hosts of O(hosts) that have no O(result_var), left out of the report.
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.keyguard.aws.plugins.module_utils._audit_report_options import ARGUMENT_SPEC


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.fail_json(
        msg="keyguard.aws.access_key_audit runs on the controller through its action plugin, which reads the other "
        "hosts' results; it cannot run as a module"
    )


if __name__ == "__main__":
    main()
