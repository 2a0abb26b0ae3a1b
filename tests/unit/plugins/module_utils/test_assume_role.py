# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Assumed roles (issue 13): moto's in-process STS hands out credentials of the role's account, whose IAM they act
on; the account is read back with boto3 as that role."""

from __future__ import annotations

import typing as t

import boto3
import botocore.credentials
import pytest
from unit_tasks import ensure_access_keys, report_access_keys

from ansible_collections.keyguard.aws.plugins.module_utils import _assume_role
from ansible_collections.keyguard.aws.plugins.module_utils._aws import AwsError, aws_client, connection_kwargs

MEMBER = "111111111111"
ROLE = f"arn:aws:iam::{MEMBER}:role/OrganizationAccountAccessRole"


@pytest.fixture
def assume_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The AssumeRole calls made (by botocore's fetcher); a fresh cache of assumed roles."""
    monkeypatch.setattr(_assume_role, "_ASSUMED", {})
    calls: list[str] = []
    original = botocore.credentials.AssumeRoleCredentialFetcher._get_credentials

    def counted(self: t.Any) -> t.Any:
        calls.append(self._role_arn)
        return original(self)

    monkeypatch.setattr(botocore.credentials.AssumeRoleCredentialFetcher, "_get_credentials", counted)
    return calls


@pytest.fixture
def member_iam(moto_iam: t.Any) -> t.Any:
    """boto3 IAM of the member account, as the role."""
    credentials = boto3.client("sts", region_name="us-east-1").assume_role(RoleArn=ROLE, RoleSessionName="test")
    keys = credentials["Credentials"]
    client = boto3.client(
        "iam",
        region_name="us-east-1",
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    )
    client.create_user(UserName="deploy")
    return client


def test_a_task_acts_on_the_role_account_with_one_assume_role(
    moto_iam: t.Any, member_iam: t.Any, assume_calls: list[str]
) -> None:
    params = {"user_name": "deploy", "state": "active", "assume_role_arn": ROLE}
    created = ensure_access_keys(params)
    (key,) = member_iam.list_access_keys(UserName="deploy")["AccessKeyMetadata"]
    assert created["access_key"]["access_key_id"] == key["AccessKeyId"]
    with pytest.raises(moto_iam.exceptions.NoSuchEntityException):  # the management account has no such user
        moto_iam.list_access_keys(UserName="deploy")
    report = report_access_keys({"assume_role_arn": ROLE, "include_last_used": False})
    assert [entry["access_key_id"] for entry in report["access_keys"]] == [key["AccessKeyId"]]
    assert assume_calls == [ROLE]  # one AssumeRole for both tasks of this process


def test_the_assumed_credentials_refresh_through_botocore(
    moto_iam: t.Any, member_iam: t.Any, assume_calls: list
) -> None:
    kwargs = connection_kwargs({"assume_role_arn": ROLE, "assume_role_duration_seconds": 900})
    assert kwargs["assume_role"] == {"RoleArn": ROLE, "RoleSessionName": "keyguard-aws", "DurationSeconds": 900}
    assert _assume_role._ASSUMED == {}  # options are plain data: nothing is assumed until a client is built
    ensure_access_keys({"user_name": "deploy", "assume_role_arn": ROLE, "assume_role_duration_seconds": 900})
    assert len(_assume_role._ASSUMED) == 1
    credentials = next(iter(_assume_role._ASSUMED.values()))
    assert isinstance(credentials, botocore.credentials.RefreshableCredentials)
    assert credentials.method == "assume-role"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        pytest.param({"assume_role_arn": "OrganizationAccountAccessRole"}, "is not an IAM role ARN", id="not-an-arn"),
        pytest.param(
            {"assume_role_arn": ROLE, "assume_role_duration_seconds": 60},
            "assume_role_duration_seconds must be between 900 and 43200, got 60",
            id="too-short",
        ),
        pytest.param(
            {"assume_role_arn": ROLE, "assume_role_session_name": "has space"},
            "assume_role_session_name 'has space' must be",
            id="session-name",
        ),
    ],
)
def test_bad_role_options_fail_before_any_call(
    moto_iam: t.Any, assume_calls: list[str], params: dict, message: str
) -> None:
    with pytest.raises(AwsError) as excinfo:
        ensure_access_keys({"user_name": "deploy", **params})
    assert message in str(excinfo.value)
    assert assume_calls == []


def test_a_role_that_cannot_be_assumed_is_named_with_the_sts_action(
    moto_iam: t.Any, assume_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):  # no base credentials anywhere
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(AwsError) as excinfo:
        ensure_access_keys({"user_name": "deploy", "assume_role_arn": ROLE})
    message = str(excinfo.value)
    assert message.startswith(f"sts:AssumeRole of role {ROLE} failed: no AWS credentials found")


def test_a_profile_as_base_credentials_acts_as_the_role(
    moto_iam: t.Any, member_iam: t.Any, assume_calls: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: t.Any
) -> None:
    """The role's account, not the profile's, from the first client of the process on (a profile's credentials
    come from botocore's own chain, which used to hand the base credentials to the client)."""
    credentials_file = tmp_path / "credentials"
    credentials_file.write_text("[org-security]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials_file))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    member_iam.create_access_key(UserName="deploy")
    moto_iam.create_user(UserName="management-only")
    moto_iam.create_access_key(UserName="management-only")
    expected = [key["AccessKeyId"] for key in member_iam.list_access_keys(UserName="deploy")["AccessKeyMetadata"]]
    params = {"profile": "org-security", "assume_role_arn": ROLE, "include_last_used": False}
    first = report_access_keys(params)
    second = report_access_keys(params)  # the same role again in this process: the assumed credentials are reused
    assert [entry["access_key_id"] for entry in first["access_keys"]] == expected
    assert [entry["access_key_id"] for entry in second["access_keys"]] == expected
    assert assume_calls == [ROLE]


def test_base_credentials_from_the_environment_act_as_the_role(
    moto_iam: t.Any, member_iam: t.Any, assume_calls: list[str]
) -> None:
    """No access_key option: botocore finds the environment's keys itself (as for an instance role or SSO)."""
    moto_iam.create_user(UserName="management-only")
    client = aws_client("iam", **connection_kwargs({"assume_role_arn": ROLE}))
    assert [user["UserName"] for user in client.list_users()["Users"]] == ["deploy"]
    assert assume_calls == [ROLE]
