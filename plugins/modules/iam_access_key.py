#!/usr/bin/python
# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: iam_access_key
short_description: Manage AWS IAM user access keys idempotently
version_added: 0.1.0
description:
  - Declares the desired state of an IAM user's access keys and reconciles IAM to it.
  - With O(id), the task is about that one key. Without it, the task is about the user's keys in scope
    (the keys whose description equals O(description) when it is given, otherwise all of the user's keys).
  - Running the same task again reports no change and never creates another key.
  - The secret access key is returned only by the run that creates the key; IAM never shows it again.
  - With O(secret_store), the secret is never returned at all. A created key is written to the store right after it is
    made (and given its O(description)), before any previous key is deactivated or deleted; if that write fails, the
    new key is deleted again and the task fails naming the failed action, so no key is left whose secret nobody holds.
    A re-run makes no write while the store holds the current key. When it does not (the secret was deleted, or holds
    another key, for example keys made before the store was used), the current key is of no use to the store's
    consumers, so it is replaced as in a rotation (a warning says why) and becomes a previous key, handled by
    O(previous_keys) and its idle guard.
author:
  - keyguard.aws developers (@keyguard-aws)
options:
  user_name:
    description:
      - The IAM user whose keys are managed.
      - Required unless O(id) is given; then the owner is looked up from the key id. When both are given, the key
        must belong to this user.
    type: str
    aliases: [username]
  id:
    description:
      - An access key ID (16-128 upper-case letters and digits). IAM chooses key ids, so a key with this id must
        already exist unless O(state=absent).
      - Without O(user_name), the key's owner is looked up first with C(GetAccessKeyLastUsed), one more call (and
        one more IAM permission) than with both.
    type: str
    aliases: [access_key_id]
  description:
    description:
      - The key's description, at most 256 characters.
      - Stored the way the AWS console stores it, as a tag on the user whose key is the access key ID and whose value
        is the description.
      - Without O(id), only keys with this description are in scope, and a created key gets it.
    type: str
  state:
    description:
      - V(present) ensures a key exists; with O(id), the key must exist and its status is left alone. Without O(id),
        one key is created if none is in scope.
      - V(active) ensures an Active key; with O(id), the key is activated. Without O(id), a key is created if no
        Active key is in scope. An Inactive key is never re-activated without its O(id), since a deactivated key
        may be compromised.
      - V(inactive) makes the O(id) key, or every key in scope, Inactive. It never creates a key. To create a key
        that is Inactive from the start, use two tasks, V(present) (register its result) and then V(inactive)
        with O(id) set to the created RV(access_key.access_key_id).
      - V(absent) deletes the O(id) key, or every key in scope, together with its description tag. A user or key
        that does not exist already satisfies it.
    type: str
    choices: [present, active, inactive, absent]
    default: present
  rotate_after_days:
    description:
      - With O(state=present) or O(state=active) and no O(id), rotate the current key (the newest Active key in
        scope) once it is at least this many days old, by IAM's clock. A new key is created in scope, with the same
        O(description); it becomes the current key and its secret is returned.
      - When the user already has two keys, the oldest Inactive key in scope is deleted first to make room.
        Without one, and with O(previous_keys=deactivate) or O(previous_keys=delete), the oldest previous key that
        this run retires anyway (Active, not the current key, idle per O(previous_keys_idle_hours)) is deleted first
        instead, so a daily rotation with the idle guard converges at the limit. A key in use and the current key are
        never deleted to make room; without such a key the task fails before any change.
      - Otherwise the new key is always created before any previous key is deactivated or deleted.
    type: int
  previous_keys:
    description:
      - What the keys in scope other than the current key should be, on every run (not only on a rotating run).
      - V(keep) leaves them alone, V(deactivate) makes them Inactive, V(delete) deletes them with their
        description tags.
      - With V(deactivate) or V(delete), the task may also delete the oldest Inactive key in scope, or else the
        oldest idle previous key, to make room for a key it must create (see O(rotate_after_days)).
    type: str
    choices: [keep, deactivate, delete]
    default: keep
  previous_keys_idle_hours:
    description:
      - A previous key is only deactivated or deleted once its last use is at least this many hours ago. A key
        never used counts as idle.
      - A key still in use is left as it is, listed in RV(retained_access_key_ids) and named in a warning with its
        last use.
      - Has no effect with O(previous_keys=keep); the task then says so in a warning.
    type: int
    default: 0
notes:
  - "Permissions: C(iam:ListAccessKeys), C(iam:ListUserTags), C(iam:CreateAccessKey), C(iam:UpdateAccessKey),
    C(iam:DeleteAccessKey), C(iam:GetAccessKeyLastUsed) (the idle guard, O(id) alone, the key-limit message),
    C(iam:TagUser) and C(iam:UntagUser) (O(description)). With O(secret_store): Secrets Manager
    C(secretsmanager:DescribeSecret), C(secretsmanager:CreateSecret), C(secretsmanager:PutSecretValue) and
    C(secretsmanager:TagResource) (O(secret_store.tags)), and with a customer managed key C(kms:GenerateDataKey) and
    C(kms:Decrypt); Parameter Store C(ssm:DescribeParameters), C(ssm:PutParameter) and C(ssm:AddTagsToResource)
    (O(secret_store.tags)), and with a customer managed key C(kms:Encrypt)."
  - IAM allows two access keys per user, Inactive keys included. When a key must be created and the user already
    has two (and no key may make room, see O(rotate_after_days)), the task fails before changing anything and names
    both keys.
  - In check mode, a user that does not exist yet (created by an earlier task of the same play) is treated as a user
    without keys, with a warning; outside check mode it is an error.
  - O(user_name) is always sent to IAM explicitly, so the task never acts on the caller's own keys by accident.
  - Use C(no_log) on tasks that create keys so the secret does not appear in logs.
  - Key ages are measured against IAM's clock (the C(Date) header of its responses), so a skewed controller clock
    does not trigger or delay rotations.
  - CreateAccessKey is never resent blindly. botocore's retry mode still retries throttling, but after an ambiguous
    failure (HTTP 5xx, timeout, dropped connection) the module lists the user's keys, deletes any key that appeared
    without its secret reaching us (reported in RV(actions) and a warning), and only then tries again, up to 3 times.
seealso:
  - module: keyguard.aws.iam_access_key_info
  - name: Managing access keys for IAM users
    description: AWS documentation on creating, rotating and deleting access keys.
    link: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html
extends_documentation_fragment:
  - keyguard.aws.connection
  - keyguard.aws.secret_store
  - keyguard.aws.attributes
  - keyguard.aws.attributes.action_group
  - keyguard.aws.attributes.in_process
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
"""

EXAMPLES = r"""
- name: Ensure the deploy user has an access key
  keyguard.aws.iam_access_key:
    user_name: deploy
    state: present
  register: deploy_key
  no_log: true

- name: Ensure the CI user has an Active key described as "ci-pipeline"
  keyguard.aws.iam_access_key:
    user_name: ci
    description: ci-pipeline
    state: active
  register: ci_key
  no_log: true

- name: Deactivate one key by id (the owner is looked up)
  keyguard.aws.iam_access_key:
    id: AKIAIOSFODNN7EXAMPLE
    state: inactive

- name: Re-activate a key after investigation
  keyguard.aws.iam_access_key:
    user_name: deploy
    id: AKIAIOSFODNN7EXAMPLE
    state: active

- name: Rotate the deploy key every 90 days and retire the old one once unused for a day
  keyguard.aws.iam_access_key:
    user_name: deploy
    state: active
    rotate_after_days: 90
    previous_keys: delete
    previous_keys_idle_hours: 24
  register: deploy_key
  no_log: true

- name: Rotate the deploy key every 90 days, its secret straight into Secrets Manager (never into the task result)
  keyguard.aws.iam_access_key:
    user_name: deploy
    state: active
    rotate_after_days: 90
    previous_keys: delete
    previous_keys_idle_hours: 24
    secret_store:
      service: secretsmanager
      name: apps/deploy/aws-key
      kms_key_id: alias/apps
      tags:
        team: platform

- name: Keep the CI user's current key in a SecureString parameter
  keyguard.aws.iam_access_key:
    user_name: ci
    state: active
    secret_store:
      service: ssm
      name: /ci/aws-key

- name: Delete every key of a departing user
  keyguard.aws.iam_access_key:
    user_name: alice
    state: absent

- name: Set connection defaults once for all keyguard.aws modules
  module_defaults:
    group/keyguard.aws.aws:
      profile: security-audit
  block:
    - name: Delete one key
      keyguard.aws.iam_access_key:
        user_name: deploy
        id: AKIAIOSFODNN7EXAMPLE
        state: absent
"""

RETURN = r"""
user_name:
  description: The IAM user the task acted on (looked up from O(id) when O(user_name) was not given).
  returned: always
  type: str
  sample: deploy
access_key:
  description:
    - The key the task is about, after the task. That is the O(id) key, the key created, or else the newest Active
      key in scope, or else the newest key in scope.
    - In check mode a key that would be created has a null RV(access_key.access_key_id) and RV(access_key.create_date).
  returned: when such a key exists after the task (not after a delete)
  type: dict
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
      sample: "2026-11-28T08:51:37+00:00"
    description:
      description: The key's description, null if it has none.
      type: str
      sample: ci-pipeline
access_keys:
  description: All of the user's keys after the task (predicted in check mode), oldest first.
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
      sample: "2026-11-28T08:51:37+00:00"
    description:
      description: The key's description, null if it has none.
      type: str
      sample: ci-pipeline
secret_access_key:
  description:
    - The secret access key of the key created by this run. IAM never returns it again, so store it now.
    - Also returned when a later step of the same run failed, so the secret is never lost. If the step that failed
      was giving the new key its O(description), the task deletes the key again instead (it would be out of the
      task's scope, and a re-run would create another) and returns no secret; only if that delete fails too is
      the key kept and its secret returned.
  returned: when a key was created without O(secret_store) (never in check mode)
  type: str
  sample: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
secret_store:
  description:
    - The store the key's secret is kept in, after the task (before it, in check mode).
  returned: when O(secret_store) is given
  type: dict
  contains:
    service:
      description: V(secretsmanager) or V(ssm).
      type: str
      sample: secretsmanager
    name:
      description: The secret's name or ARN as given, or the parameter's name.
      type: str
      sample: apps/deploy/aws-key
    arn:
      description: The secret's or parameter's ARN; null before the task creates it, or when the service does not say.
      type: str
      sample: arn:aws:secretsmanager:eu-west-1:123456789012:secret:apps/deploy/aws-key-AbCdEf
    version:
      description: The Secrets Manager version id holding the current key, or the parameter's version number.
      type: raw
      sample: 0b8e8f0e-4f6a-5d6e-9f1a-2b3c4d5e6f70
actions:
  description:
    - The ordered changes made, or in check mode planned. An empty list means nothing needed to change.
    - RV(actions[].access_key_id) is null for a key that check mode would create.
  returned: always
  type: list
  elements: dict
  contains:
    action:
      description: One of V(create), V(activate), V(deactivate), V(delete), V(describe) or V(store).
      type: str
      sample: create
    access_key_id:
      description: The key acted on.
      type: str
      sample: AKIAIOSFODNN7EXAMPLE
    destination:
      description: Where a V(store) action writes, C(secretsmanager:NAME) or C(ssm:NAME).
      type: str
      returned: for V(store) actions
      sample: secretsmanager:apps/deploy/aws-key
  sample: [{action: create, access_key_id: AKIAIOSFODNN7EXAMPLE}]
rotated:
  description:
    - Whether this run created a new key because the current key was O(rotate_after_days) old, or because
      O(secret_store) did not hold it.
  returned: always
  type: bool
  sample: false
retained_access_key_ids:
  description:
    - Previous keys that O(previous_keys) would retire but that were kept because they were used less than
      O(previous_keys_idle_hours) ago.
  returned: always
  type: list
  elements: str
  sample: [AKIAIOSFODNN7EXAMPLE]
"""

from ansible_collections.keyguard.aws.plugins.module_utils._key_task import ARGUMENT_RULES, ARGUMENT_SPEC, run
from ansible_collections.keyguard.aws.plugins.module_utils._module_runner import run_module


def main() -> None:
    """Parse the options (ARGUMENT_SPEC), run the task (module_utils/_key_task.py: run), exit with its result."""
    run_module(ARGUMENT_SPEC, ARGUMENT_RULES, run)


if __name__ == "__main__":
    main()
