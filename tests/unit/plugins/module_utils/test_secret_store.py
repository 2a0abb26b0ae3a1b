# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""secret_store (issue 12) against moto's in-process IAM, Secrets Manager and SSM: what is written where, what is
never returned, and what a failed write leaves behind. Every test reads IAM and the store back with boto3."""

from __future__ import annotations

import json
import typing as t

import boto3
import botocore.awsrequest
import pytest
from freezegun import freeze_time
from unit_tasks import WRITE_OPERATIONS, _key_task, report_access_keys, validated

from ansible_collections.keyguard.aws.plugins.module_utils import _secret_store
from ansible_collections.keyguard.aws.plugins.module_utils._aws import AwsError, aws_client

REGION = "eu-west-1"
NAME = "apps/deploy/aws-key"
STORE_WRITES = frozenset({"CreateSecret", "PutSecretValue", "PutParameter"})


class Clients:
    """The client factory of the task under test: the collection's own clients, each call recorded."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.clients: dict[str, t.Any] = {}

    def __call__(self, service: str, **kwargs: t.Any) -> t.Any:
        client = aws_client(service, **kwargs)
        client.meta.events.register("before-call", lambda model, **_: self.calls.append(model.name))
        self.clients[service] = client
        return client

    @property
    def writes(self) -> list[str]:
        return [name for name in self.calls if name in WRITE_OPERATIONS | STORE_WRITES]


@pytest.fixture
def aws(moto_iam: t.Any) -> dict[str, t.Any]:
    return {
        "iam": moto_iam,
        "secretsmanager": boto3.client("secretsmanager", region_name=REGION),
        "ssm": boto3.client("ssm", region_name=REGION),
    }


@pytest.fixture
def clients() -> Clients:
    return Clients()


def task(clients: Clients, service: str = "secretsmanager", check_mode: bool = False, **options: t.Any) -> dict:
    params = {"user_name": "alice", "state": "active", "region": REGION, **options}
    params.setdefault("secret_store", {"service": service, "name": NAME})
    return _key_task.run(validated(_key_task, params), check_mode, True, clients)


def iam_keys(aws: dict[str, t.Any]) -> dict[str, str]:
    listed = aws["iam"].list_access_keys(UserName="alice")["AccessKeyMetadata"]
    return {key["AccessKeyId"]: key["Status"] for key in listed}


def stored(aws: dict[str, t.Any], service: str = "secretsmanager", stage: str = "AWSCURRENT") -> dict[str, t.Any]:
    if service == "ssm":
        value = aws["ssm"].get_parameter(Name="/" + NAME, WithDecryption=True)["Parameter"]["Value"]
    else:
        value = aws["secretsmanager"].get_secret_value(SecretId=NAME, VersionStage=stage)["SecretString"]
    return json.loads(value)


def assert_no_secret(result: t.Any, *secrets: str) -> None:
    assert "secret_access_key" not in result
    for secret in secrets:
        assert secret not in json.dumps(result, default=str)


# ---------------------------------------------------------------------------------------------


def test_create_stores_a_credential_process_document_and_returns_no_secret(aws: dict, clients: Clients) -> None:
    checked = task(clients, check_mode=True)
    assert checked["actions"] == [
        {"action": "create", "access_key_id": None},
        {"action": "store", "access_key_id": None, "destination": f"secretsmanager:{NAME}"},
    ]
    assert checked["diff"]["after"]["secret_store"] == {"destination": f"secretsmanager:{NAME}", "access_key_id": None}
    assert clients.writes == [] and iam_keys(aws) == {}

    clients.calls.clear()
    result = task(clients, secret_store={"service": "secretsmanager", "name": NAME, "tags": {"team": "platform"}})
    (key_id,) = iam_keys(aws)
    document = stored(aws)
    assert set(document) == {"Version", "AccessKeyId", "SecretAccessKey", "UserName", "CreateDate"}
    assert (document["Version"], document["AccessKeyId"], document["UserName"]) == (1, key_id, "alice")
    assert_no_secret(result, document["SecretAccessKey"])
    assert clients.writes == ["CreateAccessKey", "CreateSecret"]
    assert result["actions"][-1] == {
        "action": "store",
        "access_key_id": key_id,
        "destination": f"secretsmanager:{NAME}",
    }
    described = aws["secretsmanager"].describe_secret(SecretId=NAME)
    assert result["secret_store"] == {
        "service": "secretsmanager",
        "name": NAME,
        "arn": described["ARN"],
        "version": _secret_store.SecretsManagerStore.version_id(key_id),
    }
    assert described["Tags"] == [{"Key": "team", "Value": "platform"}]

    clients.calls.clear()
    again = task(clients)
    assert (again["changed"], again["actions"], clients.writes) == (False, [], [])
    assert clients.calls.count("DescribeSecret") == 1  # the one extra read call: no GetSecretValue
    assert "GetSecretValue" not in clients.calls
    assert again["secret_store"] == result["secret_store"]


def test_rotation_moves_awscurrent_and_awsprevious_and_retires_by_previous_keys(aws: dict, clients: Clients) -> None:
    first = task(clients)["access_key"]["access_key_id"]
    with freeze_time("2099-01-01"):
        # the old key has been in use: the idle guard keeps it, the new key is stored first
        rotated = task(clients, rotate_after_days=30, previous_keys="deactivate", previous_keys_idle_hours=24)
    new = rotated["access_key"]["access_key_id"]
    assert rotated["rotated"] is True and new != first
    assert [action["action"] for action in rotated["actions"]] == ["create", "store", "deactivate"]
    assert iam_keys(aws) == {first: "Inactive", new: "Active"}
    assert stored(aws)["AccessKeyId"] == new
    assert stored(aws, stage="AWSPREVIOUS")["AccessKeyId"] == first
    assert_no_secret(rotated, stored(aws)["SecretAccessKey"], stored(aws, stage="AWSPREVIOUS")["SecretAccessKey"])


def test_drift_a_deleted_secret_gets_a_new_key_and_a_warning(aws: dict, clients: Clients) -> None:
    first = task(clients)["access_key"]["access_key_id"]
    aws["secretsmanager"].delete_secret(SecretId=NAME, ForceDeleteWithoutRecovery=True)
    result = task(clients, previous_keys="keep")
    new = result["access_key"]["access_key_id"]
    assert new != first and iam_keys(aws) == {first: "Active", new: "Active"}
    assert stored(aws)["AccessKeyId"] == new
    (warning,) = result["warnings"]
    assert f"its current key {first} is of no use to the consumers of secretsmanager:{NAME}" in warning
    assert "which does not exist" in warning


def test_drift_from_keys_created_without_a_store_at_the_limit_makes_room(aws: dict, clients: Clients) -> None:
    old = aws["iam"].create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    inactive = aws["iam"].create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    aws["iam"].update_access_key(UserName="alice", AccessKeyId=old, Status="Inactive")
    result = task(clients, "ssm")
    new = result["access_key"]["access_key_id"]
    assert [action["action"] for action in result["actions"]] == ["delete", "create", "store"]
    assert result["actions"][0]["access_key_id"] == old
    assert iam_keys(aws) == {inactive: "Active", new: "Active"}
    assert stored(aws, "ssm")["AccessKeyId"] == new
    parameter = aws["ssm"].describe_parameters()["Parameters"][0]
    assert new in parameter["Description"] and parameter["Type"] == "SecureString"
    clients.calls.clear()
    again = task(clients, "ssm")
    assert (again["changed"], clients.writes, clients.calls.count("DescribeParameters")) == (False, [], 1)


def test_a_failed_write_deletes_the_new_key_and_touches_no_previous_key(aws: dict, clients: Clients) -> None:
    previous = aws["iam"].create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]

    def refuse(**_kwargs: t.Any) -> tuple[t.Any, dict[str, t.Any]]:
        http = botocore.awsrequest.AWSResponse("https://secretsmanager", 400, {}, None)
        return http, {"Error": {"Code": "AccessDeniedException", "Message": "not allowed to write"}}

    real_factory = clients.__call__

    def factory(service: str, **kwargs: t.Any) -> t.Any:
        client = real_factory(service, **kwargs)
        if service == "secretsmanager":
            client.meta.events.register("before-call.secrets-manager.CreateSecret", refuse)
        return client

    params = {"user_name": "alice", "state": "active", "region": REGION, "rotate_after_days": 1}
    params["secret_store"] = {"service": "secretsmanager", "name": NAME}
    with pytest.raises(AwsError) as excinfo:
        _key_task.run(validated(_key_task, params), False, True, factory)
    message = str(excinfo.value)
    assert message.startswith("secretsmanager:CreateSecret failed: AccessDeniedException: not allowed to write")
    assert "was deleted again, so no key is left whose secret nobody holds" in message
    assert iam_keys(aws) == {previous: "Active"}  # the new key is gone, the previous one untouched
    assert "secret_access_key" not in excinfo.value.result
    assert [action["action"] for action in excinfo.value.result["actions"]] == ["create", "delete"]
    with pytest.raises(aws["secretsmanager"].exceptions.ResourceNotFoundException):
        aws["secretsmanager"].describe_secret(SecretId=NAME)


def test_a_write_whose_answer_was_lost_but_happened_is_kept(
    aws: dict, clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = _secret_store.ParameterStore._write

    def lost(self: t.Any, *args: t.Any) -> t.Any:
        original(self, *args)
        raise AwsError("ssm:PutParameter failed: Read timeout on endpoint URL", code=None)

    monkeypatch.setattr(_secret_store.ParameterStore, "_write", lost)
    result = task(clients, "ssm")
    (key_id,) = iam_keys(aws)
    assert stored(aws, "ssm")["AccessKeyId"] == key_id
    (warning,) = result["warnings"]
    assert "but the store holds it" in warning
    assert_no_secret(result, stored(aws, "ssm")["SecretAccessKey"])


@pytest.mark.parametrize("service", ["secretsmanager", "ssm"])
def test_a_created_store_gets_the_kms_key_and_tags_and_an_existing_one_keeps_its_tags(
    aws: dict, clients: Clients, service: str
) -> None:
    kms_key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    options = {"service": service, "name": NAME, "kms_key_id": kms_key, "tags": {"team": "platform", "tier": 1}}
    result = task(clients, secret_store=options)
    (key_id,) = iam_keys(aws)
    assert stored(aws, service)["AccessKeyId"] == key_id
    assert_no_secret(result, stored(aws, service)["SecretAccessKey"])
    expected_tags = [{"Key": "team", "Value": "platform"}, {"Key": "tier", "Value": "1"}]
    if service == "ssm":
        (parameter,) = aws["ssm"].describe_parameters(
            ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": ["/" + NAME]}]
        )["Parameters"]
        assert (parameter["Type"], parameter["KeyId"]) == ("SecureString", kms_key)
        tags = aws["ssm"].list_tags_for_resource(ResourceType="Parameter", ResourceId="/" + NAME)["TagList"]
    else:
        described = aws["secretsmanager"].describe_secret(SecretId=NAME)
        assert described["KmsKeyId"] == kms_key
        tags = described["Tags"]
    assert sorted(tags, key=lambda tag: tag["Key"]) == expected_tags

    # Rotated into the existing parameter or secret: written again, the tags of the first write left as they were.
    options["tags"] = {"team": "other"}
    aws["iam"].delete_access_key(UserName="alice", AccessKeyId=key_id)  # drift: a new key is due
    task(clients, secret_store=options)
    (new_key_id,) = iam_keys(aws)
    assert stored(aws, service)["AccessKeyId"] == new_key_id != key_id
    if service == "ssm":
        tags = aws["ssm"].list_tags_for_resource(ResourceType="Parameter", ResourceId="/" + NAME)["TagList"]
    else:
        tags = aws["secretsmanager"].describe_secret(SecretId=NAME)["Tags"]
    assert sorted(tags, key=lambda tag: tag["Key"]) == expected_tags


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"secret_store": {"service": "vault", "name": NAME}}, "value of service must be one of", id="svc"),
        pytest.param(
            {"secret_store": {"service": "ssm", "name": " "}}, "secret_store.name must not be empty", id="empty"
        ),
        pytest.param(
            {"secret_store": {"service": "secretsmanager", "name": "arn:aws:ssm:eu-west-1:123456789012:parameter/x"}},
            "is an ARN of ssm, not of secret_store.service secretsmanager",
            id="wrong-arn",
        ),
        pytest.param(
            {"secret_store": {"service": "ssm", "name": "/aws-keys/x"}}, "reserves names beginning with aws", id="aws"
        ),
        pytest.param(
            {"secret_store": {"service": "ssm", "name": "arn:aws:ssm:eu-west-1:123456789012:document/x"}},
            "is not the ARN of an SSM parameter",
            id="ssm-arn-not-parameter",
        ),
        pytest.param(
            {"state": "inactive"}, "secret_store can only be used with state=present or state=active", id="inactive"
        ),
        pytest.param(
            {"state": "absent"}, "secret_store can only be used with state=present or state=active", id="absent"
        ),
        pytest.param({"id": "AKIAIOSFODNN7EXAMPLE"}, "and without id", id="with-id"),
    ],
)
def test_bad_input_fails_before_any_call(aws: dict, clients: Clients, options: dict, message: str) -> None:
    with pytest.raises(AwsError) as excinfo:
        task(clients, **options)
    assert message in str(excinfo.value)
    assert clients.calls == []
    assert iam_keys(aws) == {}


def test_a_secret_pending_deletion_stops_the_task_before_any_change(aws: dict, clients: Clients) -> None:
    aws["secretsmanager"].create_secret(Name=NAME, SecretString="{}")
    aws["secretsmanager"].delete_secret(SecretId=NAME, RecoveryWindowInDays=7)
    with pytest.raises(AwsError) as excinfo:
        task(clients)
    assert "is scheduled for deletion" in str(excinfo.value)
    assert clients.writes == [] and iam_keys(aws) == {}


@pytest.mark.parametrize("service", ["secretsmanager", "ssm"])
def test_info_reports_which_key_the_store_holds(aws: dict, clients: Clients, service: str) -> None:
    stored_key = task(clients, service)["access_key"]["access_key_id"]
    other = aws["iam"].create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    report = report_access_keys(
        {"user_name": "alice", "region": REGION, "secret_store": {"service": service, "name": NAME}}
    )
    assert {entry["access_key_id"]: entry["in_secret_store"] for entry in report["access_keys"]} == {
        stored_key: True,
        other: False,
    }
