# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The secret_store option of both modules. Keep in step with SECRET_STORE_OPTIONS in
    # plugins/module_utils/_secret_store.py.
    DOCUMENTATION = r"""
options:
  secret_store:
    description:
      - Where new keys' secrets go, AWS Secrets Manager or SSM Parameter Store (a C(SecureString) parameter).
      - The store holds one JSON document in the shape AWS's C(credential_process) expects, with the fields
        C(Version) (always 1), C(AccessKeyId), C(SecretAccessKey), C(UserName) and C(CreateDate), so a consumer can
        use it as is, for example with
        C(credential_process = aws secretsmanager get-secret-value --secret-id NAME --query SecretString --output text)
        or C(aws ssm get-parameter --name NAME --with-decryption --query Parameter.Value --output text).
      - Which key the store holds is found without reading the secret. In Secrets Manager each key is written as the
        version whose id is derived from the access key id (its C(ClientRequestToken)), which becomes C(AWSCURRENT);
        the version before moves to C(AWSPREVIOUS). A parameter's description names the access key id.
      - The connection options (credentials, profile, O(endpoint_url), retries) are the task's own.
    type: dict
    suboptions:
      service:
        description:
          - V(secretsmanager) for an AWS Secrets Manager secret, V(ssm) for an SSM Parameter Store parameter.
        type: str
        required: true
        choices: [secretsmanager, ssm]
      name:
        description:
          - The secret's name or ARN, or the parameter's name (or ARN). A parameter name with a hierarchy gets the
            leading C(/) Parameter Store requires.
          - An ARN must be one of O(secret_store.service).
        type: str
        required: true
      kms_key_id:
        description:
          - The KMS key (id, ARN or alias) for a secret or parameter the task creates (and, for a parameter, for each
            write). The service's own key when not set.
        type: str
      region:
        description:
          - The store's region. Defaults to the task's O(region).
        type: str
      tags:
        description:
          - Tags applied when the task creates the secret or parameter.
        type: dict
"""
