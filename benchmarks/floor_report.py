# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The plain-boto3 floor of a whole-account key report: one Python process, sequential calls.

    python benchmarks/floor_report.py ENDPOINT_URL [RETRY_MODE TOTAL_MAX_ATTEMPTS]

ListUsers (1000 a page), then ListAccessKeys for each user and GetAccessKeyLastUsed for each key:
every key with its status, creation date and last use. Credentials and region come from the
environment; botocore's default retries unless a retry mode and attempts are given (make
bench-latency gives the floor the retries keyguard.aws runs with). Prints {"users": n, "keys": n,
"used": n} as JSON.
"""

from __future__ import annotations

import json
import sys

import boto3
import botocore.config


def report(endpoint_url: str, retries: dict | None = None, session: boto3.session.Session | None = None) -> list[dict]:
    """Every key of the account, as ``session``'s credentials (default: the environment's) see it."""
    config = botocore.config.Config(retries=retries) if retries else None
    iam = (session or boto3).client("iam", endpoint_url=endpoint_url, config=config)
    rows = []
    for page in iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 1000}):
        for user in page["Users"]:
            for keys in iam.get_paginator("list_access_keys").paginate(UserName=user["UserName"]):
                for key in keys["AccessKeyMetadata"]:
                    used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
                    rows.append(
                        {
                            "user_name": user["UserName"],
                            "access_key_id": key["AccessKeyId"],
                            "status": key["Status"],
                            "create_date": key["CreateDate"].isoformat(),
                            "last_used_date": used["LastUsedDate"].isoformat() if "LastUsedDate" in used else None,
                            "last_used_service": used.get("ServiceName"),
                            "last_used_region": used.get("Region"),
                        }
                    )
    return rows


def main(argv: list[str]) -> int:
    retries = {"mode": argv[2], "total_max_attempts": int(argv[3])} if len(argv) > 3 else None
    rows = report(argv[1], retries)
    users = {row["user_name"] for row in rows}
    used = sum(1 for row in rows if row["last_used_date"])
    print(json.dumps({"users": len(users), "keys": len(rows), "used": used}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
