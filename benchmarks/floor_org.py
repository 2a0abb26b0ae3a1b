# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The plain-boto3 peer of the organization audit: one Python process, accounts one after the other.

    python benchmarks/floor_org.py ENDPOINT_URL ROLE_NAME ACCOUNT_ID [ACCOUNT_ID ...]

For each account: sts:AssumeRole into ROLE_NAME, then benchmarks/floor_report.py's whole-account report as that
role (ListUsers, ListAccessKeys per user, GetAccessKeyLastUsed per key). Base credentials and region come from the
environment. Prints {"accounts": n, "users": n, "keys": n} as JSON.
"""

from __future__ import annotations

import json
import sys

import boto3
from floor_report import report


def main(argv: list[str]) -> int:
    endpoint_url, role_name, account_ids = argv[1], argv[2], argv[3:]
    sts = boto3.client("sts", endpoint_url=endpoint_url)
    users = keys = 0
    for account_id in account_ids:
        credentials = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/{role_name}", RoleSessionName="floor-org"
        )["Credentials"]
        session = boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        rows = report(endpoint_url, session=session)
        users += len({row["user_name"] for row in rows})
        keys += len(rows)
    print(json.dumps({"accounts": len(account_ids), "users": users, "keys": keys}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
