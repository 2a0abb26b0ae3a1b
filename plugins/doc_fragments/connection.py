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
        C(read_timeout=30) seconds.
      - A call against an endpoint that keeps failing therefore gives up after at most
        C(total_max_attempts) x (C(connect_timeout) + C(read_timeout)) seconds plus the back-off between attempts
        (at most 1, 2, 4, 8 and 16 seconds, then 20 seconds per further attempt; 15 seconds in all with 5 attempts),
        and within seconds when connections are refused or reset. Lower these values to fail faster.
      - 'To absorb heavy throttling, set for example C({"retries": {"mode": "adaptive", "total_max_attempts": 10}}).'
    type: dict
notes:
  - Empty strings count as unset for every connection option, so an empty environment variable does not
    override the credential chain.
  - Credentials are taken, in this order, from O(access_key)/O(secret_key), O(profile), the environment
    variables, and then botocore's default chain.
requirements:
  - python >= 3.9
  - botocore >= 1.34.0
"""
