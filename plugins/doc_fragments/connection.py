# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # AWS connection options shared by every keyguard.aws module.
    # Keep in step with CONNECTION_ARGUMENT_SPEC and MINIMUM_BOTOCORE_VERSION in plugins/module_utils/_aws.py.
    DOCUMENTATION = r"""
options:
  access_key:
    description:
      - AWS access key ID.
      - If not set, the environment variable E(AWS_ACCESS_KEY_ID) is used.
      - If neither is set, botocore's default credential chain applies (shared credentials file, instance role and
        so on).
      - Cannot be combined with O(profile).
    type: str
    aliases: [aws_access_key_id, aws_access_key]
  secret_key:
    description:
      - AWS secret access key.
      - If not set, the environment variable E(AWS_SECRET_ACCESS_KEY) is used.
      - Required together with O(access_key). Cannot be combined with O(profile).
    type: str
    aliases: [aws_secret_access_key, aws_secret_key]
  session_token:
    description:
      - AWS STS session token, for temporary credentials.
      - If not set, the environment variable E(AWS_SESSION_TOKEN) is used.
    type: str
    aliases: [aws_session_token]
  profile:
    description:
      - A named profile from the AWS shared config and credentials files.
      - If not set, the environment variable E(AWS_PROFILE) is used.
      - Cannot be combined with O(access_key), O(secret_key) or O(session_token).
    type: str
    aliases: [aws_profile]
  region:
    description:
      - The AWS region used to sign requests. IAM is a global service, so this rarely matters outside
        partitions such as AWS GovCloud or China.
      - If not set, the environment variables E(AWS_REGION) then E(AWS_DEFAULT_REGION) are used.
    type: str
    aliases: [aws_region]
  endpoint_url:
    description:
      - URL of the IAM endpoint to use instead of the default, for example a VPC endpoint or a test server.
      - If not set, the environment variable E(AWS_ENDPOINT_URL) is used.
    type: str
    aliases: [aws_endpoint_url]
  validate_certs:
    description:
      - When V(false), TLS certificates of the endpoint are not verified. Only use this against test endpoints.
    type: bool
    default: true
  aws_ca_bundle:
    description:
      - Path to a CA bundle used to verify the endpoint's TLS certificate.
      - If not set, the environment variable E(AWS_CA_BUNDLE) is used.
    type: path
  aws_config:
    description:
      - Options passed to C(botocore.config.Config), for example C(retries), C(connect_timeout) or
        C(read_timeout).
      - By default requests use botocore's C(standard) retry mode with up to 5 attempts (C(total_max_attempts)), which
        retries throttling, HTTP 5xx and connection errors with exponential back-off, and C(connect_timeout=10) and
        C(read_timeout=30) seconds. M(keyguard.aws.iam_access_key_info) uses C(adaptive) mode with 10 attempts
        instead (see its O(keyguard.aws.iam_access_key_info#module:max_workers)).
      - A call against an endpoint that keeps failing therefore gives up after at most
        C(total_max_attempts) x (C(connect_timeout) + C(read_timeout)) seconds plus the back-off between attempts
        (at most 1, 2, 4, 8 and 16 seconds, then 20 seconds per further attempt; 15 seconds in all with 5 attempts),
        and within seconds when connections are refused or reset. Lower these values to fail faster.
      - 'To absorb heavy throttling, set for example C({"retries": {"mode": "adaptive", "total_max_attempts": 10}}).'
    type: dict
  assume_role_arn:
    description:
      - The ARN of an IAM role to act as, for example the C(OrganizationAccountAccessRole) of another account of an
        AWS Organization. Every call of the task (IAM, and the secret store) is made as that role.
      - The role is assumed with the task's credentials (the options above, the environment or the profile) through
        botocore's own assume-role credentials, which refresh before they expire, so a long report never fails on an
        expired session. It is assumed once per role and worker process (C(sts:AssumeRole)); a role that cannot be
        assumed fails the task before any other call, naming the role.
      - If not set, the environment variable E(AWS_ASSUME_ROLE_ARN) is used.
    type: str
  assume_role_session_name:
    description:
      - The session name of the assumed role, as CloudTrail shows it (2-64 letters, digits and C(+=,.@_-)).
      - If not set, the environment variable E(AWS_ASSUME_ROLE_SESSION_NAME) is used.
    type: str
    default: keyguard-aws
  assume_role_external_id:
    description:
      - The external id the role's trust policy requires, if any.
      - If not set, the environment variable E(AWS_ASSUME_ROLE_EXTERNAL_ID) is used.
    type: str
  assume_role_duration_seconds:
    description:
      - How long each set of role credentials lasts, 900 to 43200 seconds (up to the role's maximum session
        duration). They are refreshed before they expire.
      - If not set, the environment variable E(AWS_ASSUME_ROLE_DURATION_SECONDS) is used.
    type: int
    default: 3600
notes:
  - Empty strings count as unset for every connection option, so an empty environment variable does not
    override the credential chain.
  - Credentials are taken, in this order, from O(access_key)/O(secret_key), O(profile), the environment
    variables, and then botocore's default chain.
requirements:
  - python >= 3.9
  - botocore >= 1.34.0
"""

    # The same options for plugins (the aws_accounts inventory): set below, from DOCUMENTATION and ENVIRONMENT.
    PLUGINS = ""


# The same options for plugins (the aws_accounts inventory), which read environment variables through their
# documentation: each option's env entries follow its type line. tests/unit/test_doc_fragments.py checks that
# these names are the fallbacks of CONNECTION_ARGUMENT_SPEC.
ENVIRONMENT = {
    "access_key": ["AWS_ACCESS_KEY_ID"],
    "secret_key": ["AWS_SECRET_ACCESS_KEY"],
    "session_token": ["AWS_SESSION_TOKEN"],
    "profile": ["AWS_PROFILE"],
    "region": ["AWS_REGION", "AWS_DEFAULT_REGION"],
    "endpoint_url": ["AWS_ENDPOINT_URL"],
    "aws_ca_bundle": ["AWS_CA_BUNDLE"],
    "assume_role_arn": ["AWS_ASSUME_ROLE_ARN"],
    "assume_role_session_name": ["AWS_ASSUME_ROLE_SESSION_NAME"],
    "assume_role_external_id": ["AWS_ASSUME_ROLE_EXTERNAL_ID"],
    "assume_role_duration_seconds": ["AWS_ASSUME_ROLE_DURATION_SECONDS"],
}


def _with_environment(documentation: str, environment: dict[str, list[str]]) -> str:
    """``documentation`` with an ``env`` list after the ``type`` line of each option that has environment variables."""
    lines = []
    option = None
    for line in documentation.splitlines():
        lines.append(line)
        if line.startswith("  ") and not line.startswith("   ") and line.rstrip().endswith(":"):
            option = line.strip()[:-1]
        elif line.startswith("    type: ") and option in environment:
            lines.append("    env:")
            lines.extend(f"      - name: {name}" for name in environment[option])
    return "\n".join(lines) + "\n"


ModuleDocFragment.PLUGINS = _with_environment(ModuleDocFragment.DOCUMENTATION, ENVIRONMENT)
