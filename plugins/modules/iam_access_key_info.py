#!/usr/bin/python
# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_access_key_info
short_description: Report IAM access keys with status, age and last use
version_added: 0.1.0
description:
  - Reports access keys with their status, age, description and last use (date, service and region) for one key,
    one user, or every user of the account, in one task.
  - The set of keys always comes from C(ListAccessKeys), so it is never stale.
  - For a whole-account report, last use comes from the IAM credential report, which IAM regenerates at most every
    4 hours, so it can be up to 4 hours old. Keys the report cannot place (for example keys created since) are looked
    up one by one. Set O(exact_last_used=true) to look up every key's last use exactly.
  - A whole-account report reads the credential report even when no user has a key, since its root row is the only
    place the root user's access keys show (RV(root_account)).
  - With O(secret_store), each key in the report says whether the store holds it as its current key
    (RV(access_keys[].in_secret_store)); this needs C(secretsmanager:DescribeSecret) or C(ssm:DescribeParameters).
author:
  - keyguard.aws developers (@keyguard-aws)
options:
  user_name:
    description:
      - Only this user's keys. A user that does not exist is an error, never an empty list; in check mode it gives
        an empty list and a warning, so a check-mode run of a play that first creates the user goes on.
    type: str
    aliases: [username]
  id:
    description:
      - Only this access key. Its owner is found from the key id alone. An unknown id is an error.
      - With O(user_name), the key must belong to that user.
    type: str
    aliases: [access_key_id]
  path_prefix:
    description:
      - With neither O(user_name) nor O(id), only users whose IAM path starts with this prefix, for example
        V(/service/).
    type: str
  status:
    description:
      - Only keys with this status.
    type: str
    choices: [Active, Inactive]
  older_than_days:
    description:
      - Only keys created at least this many days ago.
    type: int
  unused_for_days:
    description:
      - Only keys whose last use, or creation when never used, is at least this many days ago.
      - Needs O(include_last_used=true).
    type: int
  include_last_used:
    description:
      - Fetch last-use data. Without it a report makes fewer calls and the last-use fields are omitted.
    type: bool
    default: true
  exact_last_used:
    description:
      - Look up every key's last use with C(GetAccessKeyLastUsed) instead of the credential report. Exact, but one
        call per key.
      - With O(include_findings=true) the credential report is still read, for the root user's keys (CIS 1.4).
      - Has no effect with O(include_last_used=false); the task then says so in a warning.
    type: bool
    default: false
  max_workers:
    description:
      - How many IAM calls run at once for whole-account reports (1 to 64), besides the one at a time that fetches the
        credential report meanwhile. The client keeps a connection open for each (at least botocore's 10), unless
        O(aws_config) sets C(max_pool_connections).
      - Requests are retried up to 10 times in botocore's C(adaptive) retry mode unless O(aws_config) sets
        C(retries), so throttling slows the report down instead of failing it; once throttled, the client also
        slows its own request rate to what IAM accepts. In botocore's C(standard) mode, with 16 calls at once
        against a limit of 20 calls a second, the client's retry quota ran out and the report failed
        (C(make bench-latency) in December 2026; docs/NOTES.md, session 6).
      - The default comes from C(make bench-latency) (benchmarks/RESULTS-latency.md), with 50 ms added to every
        call. 4 is the value at which the report stays within 1.3 times the time the latency alone allows
        (N calls x 50 ms / max_workers) for 400 and 1600 users, every time it was measured. 8 sat on that bar at
        400 users (1.29x to 1.34x over three runs). More workers still finish sooner (1600 users took 23.9 s with
        4, 12.4 s with 8 and 6.8 s with 16), but each one brings less. Against real IAM, the account's rate
        limit binds first. 4 calls at once at 50 ms each already ask for 80 calls a second, four times the 20 a
        second the benchmark models IAM's limit with, and the account's other callers share that limit. Raise it
        for accounts whose limit you know to be higher.
    type: int
    default: 4
  max_calls_per_second:
    description:
      - Cap the report's own request rate (retries included) at this many IAM requests a second, across its
        O(max_workers) threads, for accounts whose IAM rate limit other tools share. Not capped when not set.
      - Unlike botocore's C(adaptive) retry mode, which slows down once throttled, this never goes over the rate.
    type: float
  include_findings:
    description:
      - Add RV(access_keys[].findings) to each key, the compliance checks it fails, each labelled with its
        CIS AWS Foundations Benchmark control (in the numbering of v3.0.0; later versions renumbered the IAM
        section, for example 1.14 is 2.12 in v7) and its AWS Security Hub control.
      - C(1.12)/C(IAM.22) an Active key unused for O(findings_unused_days) days or more (a key never used counts
        from its creation), C(1.13) a user with more than one Active key, C(1.14)/C(IAM.3) an Active key older than
        O(findings_max_key_age_days) days. The root account's C(1.4)/C(IAM.4) is in RV(root_account).
      - Computed over all of the user's keys before the filters, so a filtered report still counts every Active key.
    type: bool
    default: false
  findings_unused_days:
    description:
      - With O(include_findings=true), the days without use that make an Active key unused (CIS 1.12).
      - Needs last-use data (O(include_last_used=true)); without it the check is not made.
    type: int
    default: 45
  findings_max_key_age_days:
    description:
      - With O(include_findings=true), the age in days beyond which an Active key should have been rotated (CIS 1.14).
    type: int
    default: 90
notes:
  - API calls made, without filters changing them, are at most 2 + k for one user with k keys, and at most
    N + ceil(N/1000) + 5 for a whole account of N users (the keys of each user, the user list with its tags, and the
    credential report).
  - Ages are measured against IAM's clock (the C(Date) header of its responses).
seealso:
  - module: keyguard.aws.iam_access_key
  - name: Getting credential reports for your AWS account
    description: What the IAM credential report holds and how often IAM regenerates it.
    link: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html
  - name: Managing access keys for IAM users
    description: AWS documentation on access keys and their last use.
    link: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html
extends_documentation_fragment:
  - keyguard.aws.connection
  - keyguard.aws.secret_store
  - keyguard.aws.attributes
  - keyguard.aws.attributes.action_group
  - keyguard.aws.attributes.in_process
  - keyguard.aws.attributes.info_module
"""

EXAMPLES = r"""
- name: Report every key in the account with its last use
  keyguard.aws.iam_access_key_info:
  register: all_keys

- name: Who owns this key, and when and where was it last used?
  keyguard.aws.iam_access_key_info:
    id: AKIAIOSFODNN7EXAMPLE
  register: leaked

- name: Active keys older than 90 days (CIS AWS Foundations)
  keyguard.aws.iam_access_key_info:
    status: Active
    older_than_days: 90
  register: old_keys

- name: Keys of service users unused for 45 days
  keyguard.aws.iam_access_key_info:
    path_prefix: /service/
    unused_for_days: 45
  register: unused_keys

- name: One user's keys without last-use data
  keyguard.aws.iam_access_key_info:
    user_name: deploy
    include_last_used: false
  register: deploy_keys
"""

RETURN = r"""
access_keys:
  description: The keys found, sorted by user name then creation date. An empty list when there are none.
  returned: always
  type: list
  elements: dict
  contains:
    access_key_id:
      description: The access key ID.
      type: str
      sample: AKIAIOSFODNN7EXAMPLE
    user_name:
      description: The user the key belongs to.
      type: str
      sample: deploy
    status:
      description: V(Active) or V(Inactive).
      type: str
      sample: Active
    create_date:
      description: When the key was created, ISO 8601.
      type: str
      sample: "2026-08-30T10:00:00+00:00"
    age_days:
      description: Whole days since the key was created.
      type: int
      sample: 90
    description:
      description: The key's console-style description (a user tag named after the key id), null if none.
      type: str
      sample: ci-pipeline
    last_used_date:
      description: When the key was last used, ISO 8601; null if never used.
      type: str
      returned: when O(include_last_used=true)
      sample: "2026-11-27T23:10:00+00:00"
    last_used_service:
      description: The AWS service the key was last used with; null if unknown or never used.
      type: str
      returned: when O(include_last_used=true)
      sample: s3
    last_used_region:
      description: The region the key was last used in; null if unknown or never used.
      type: str
      returned: when O(include_last_used=true)
      sample: eu-west-1
    days_since_last_used:
      description: Whole days since the last use; null if never used.
      type: int
      returned: when O(include_last_used=true)
      sample: 1
    findings:
      description: The compliance checks the key fails (none for an Inactive key).
      type: list
      elements: dict
      returned: when O(include_findings=true)
      contains:
        finding:
          description: V(unused_key), V(multiple_active_keys) or V(key_not_rotated).
          type: str
          sample: key_not_rotated
        cis_control:
          description: The CIS AWS Foundations Benchmark control, numbered as its version (the next field) numbers it.
          type: str
          sample: "1.14"
        cis_version:
          description: The CIS AWS Foundations Benchmark version that numbers the control.
          type: str
          sample: 3.0.0
        security_hub_control:
          description: The AWS Security Hub control id, null where there is none (CIS 1.13).
          type: str
          sample: IAM.3
        title:
          description: What the control asks.
          type: str
          sample: An active access key is older than allowed
        detail:
          description: Why this key fails it.
          type: str
          sample: 120 days old (threshold 90)
    in_secret_store:
      description:
        - Whether this is the key O(secret_store) holds as current, so an audit finds keys whose store is out of date.
      type: bool
      returned: when O(secret_store) is given
      sample: true
root_account:
  description:
    - The root user's access keys, from the credential report's C(<root_account>) row, and its finding (CIS 1.4,
      Security Hub IAM.4, when a root access key is active).
    - Real IAM's report has this row; moto's (used in tests) does not, and then nothing is returned.
    - A whole-account report reads the credential report unless O(include_last_used=false) or
      O(exact_last_used=true), and always with O(include_findings=true).
  returned: for a whole-account report that read the credential report, when the report has the row
  type: dict
  contains:
    arn:
      description: The root user's ARN.
      type: str
      sample: arn:aws:iam::123456789012:root
    mfa_active:
      description: Whether the root user has an MFA device.
      type: bool
      sample: true
    access_key_1_active:
      description: Whether the root user's first access key is active.
      type: bool
      sample: false
    access_key_1_last_rotated:
      description: When it was created or last rotated, ISO 8601; null if none.
      type: str
      sample: null
    access_key_1_last_used_date:
      description: When it was last used, ISO 8601; null if never or none.
      type: str
      sample: null
    access_key_2_active:
      description: Whether the root user's second access key is active.
      type: bool
      sample: false
    access_key_2_last_rotated:
      description: When it was created or last rotated, ISO 8601; null if none.
      type: str
      sample: null
    access_key_2_last_used_date:
      description: When it was last used, ISO 8601; null if never or none.
      type: str
      sample: null
    findings:
      description: The root account's findings, shaped as RV(access_keys[].findings).
      type: list
      elements: dict
      sample: []
credential_report_generated_at:
  description:
    - When IAM generated the credential report the last-use fields come from, ISO 8601. IAM reuses a report for up to
      4 hours, so a key used since then shows its last use as of this time.
    - Report rows are matched to keys by user and by each slot's C(access_key_N_last_rotated) against the key's
      creation, never by this time, so a key created or rotated after it is looked up with C(GetAccessKeyLastUsed)
      instead of being given another key's last use.
  returned: for a whole-account report that used the credential report
  type: str
  sample: "2026-11-28T06:00:00+00:00"
secret_store:
  description: The store O(secret_store) names, and what it holds (one read call, never the secret).
  returned: when O(secret_store) is given
  type: dict
  contains:
    service:
      description: V(secretsmanager) or V(ssm).
      type: str
      sample: ssm
    name:
      description: The secret's name or ARN as given, or the parameter's name.
      type: str
      sample: /ci/aws-key
    arn:
      description: The secret's or parameter's ARN; null when it does not exist or the service does not say.
      type: str
      sample: arn:aws:ssm:eu-west-1:123456789012:parameter/ci/aws-key
    version:
      description: The Secrets Manager version id marked AWSCURRENT, or the parameter's version number.
      type: raw
      sample: 3
count:
  description: The number of keys in RV(access_keys).
  returned: always
  type: int
  sample: 2
filters:
  description: The filters applied (O(user_name), O(id) as C(access_key_id), O(path_prefix), O(status),
    O(older_than_days), O(unused_for_days)).
  returned: when a filter is given
  type: dict
  sample: {status: Active, older_than_days: 90}
"""

from ansible_collections.keyguard.aws.plugins.module_utils._module_runner import run_module
from ansible_collections.keyguard.aws.plugins.module_utils._report_task import ARGUMENT_RULES, ARGUMENT_SPEC, run


def main() -> None:
    """Parse the options (ARGUMENT_SPEC), run the task (module_utils/_report_task.py: run), exit with its result."""
    run_module(ARGUMENT_SPEC, ARGUMENT_RULES, run)


if __name__ == "__main__":
    main()
