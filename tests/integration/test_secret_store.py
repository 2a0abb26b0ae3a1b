# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""secret_store end to end (issue 12): real ansible-playbook runs on both execution paths, through the recording
proxy, against the moto server (which serves IAM, Secrets Manager and SSM). After every task the test reads IAM and
the store back with boto3; every secret moto ever made is searched for in all the output: it may be nowhere but in
the store."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import botocore.session
import pytest
from _faults_helpers import MODULE, PATHS, WRITE_ACTIONS, Hooks, moto_keys

REGION = "us-east-1"
STORE_WRITES = frozenset({"CreateSecret", "PutSecretValue", "PutParameter"})
NAMES = {"secretsmanager": "apps/deploy/aws-key", "ssm": "/apps/deploy/aws-key"}


def store_client(moto, service: str) -> Any:
    return boto3.client(
        service, endpoint_url=moto.url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="x"
    )


def held(moto, service: str, name: str, stage: str = "AWSCURRENT") -> dict[str, Any] | None:
    """The document the store holds (read by the test, never by the module), or None if there is none."""
    client = store_client(moto, service)
    try:
        if service == "ssm":
            return json.loads(client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])
        return json.loads(client.get_secret_value(SecretId=name, VersionStage=stage)["SecretString"])
    except botocore.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] in ("ResourceNotFoundException", "ParameterNotFound"):
            return None
        raise


def keys_of(iam, user: str) -> dict[str, str]:
    return {key["AccessKeyId"]: key["Status"] for key in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}


def store_task(
    name: str, user: str, service: str, store_name: str, may_fail: bool = False, **options: Any
) -> dict[str, Any]:
    secret_store = {"service": service, "name": store_name}
    task = {"name": name, MODULE: {"user_name": user, "state": "active", "secret_store": secret_store, **options}}
    if may_fail:
        task["ignore_errors"] = True
    return task


def assert_secrets_only_in_the_store(run_playbook, result, moto) -> None:
    """Every secret moto made appears nowhere in stdout, stderr, the log or the results file."""
    workdir = run_playbook.tmp_path / f"playbook-{len(run_playbook.runs)}"
    blobs = {"stdout": result.stdout, "stderr": result.stderr}
    for path in workdir.rglob("*"):
        if path.is_file() and path.name not in ("playbook.yml",):
            blobs[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    secrets = [key["secret"] for key in moto_keys(moto).values()]
    assert secrets
    leaks = [(name, secret[:4]) for secret in secrets for name, text in blobs.items() if secret in text]
    assert leaks == []


@pytest.mark.parametrize("service", ["secretsmanager", "ssm"])
@pytest.mark.parametrize("path", PATHS)
def test_lifecycle_with_a_secret_store(path, service, run_playbook, proxy, moto, iam):
    name = NAMES[service]
    iam.create_user(UserName="deploy")
    stored: dict[str, Any] = {}

    def snapshot(label: str):
        def take() -> None:
            stored[label] = {"current": held(moto, service, name), "keys": keys_of(iam, "deploy")}
            if service == "secretsmanager":
                stored[label]["previous"] = held(moto, service, name, "AWSPREVIOUS")

        return take

    def delete_store() -> None:
        snapshot("rotate")()
        client = store_client(moto, service)
        if service == "ssm":
            client.delete_parameter(Name=name)
        else:
            client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)

    def advance() -> None:
        snapshot("again")()
        moto.advance(days=31)

    rotation = {"rotate_after_days": 30, "previous_keys": "deactivate"}
    tasks = [
        {**store_task("check", "deploy", service, name), "check_mode": True, "diff": True},
        store_task("create", "deploy", service, name),
        store_task("again", "deploy", service, name),
        store_task("rotate", "deploy", service, name, **rotation),
        store_task("drift", "deploy", service, name, **rotation),
        store_task("settled", "deploy", service, name, **rotation),
        {
            "name": "audit",
            "keyguard.aws.iam_access_key_info": {
                "user_name": "deploy",
                "secret_store": {"service": service, "name": name},
            },
        },
    ]
    with Hooks(proxy, iam, ["deploy"]) as hooks:
        before = {"again": snapshot("create"), "rotate": advance, "drift": delete_store, "settled": snapshot("drift")}
        result = run_playbook(hooks.around(tasks, before=before), env=PATHS[path], verbosity=3, diff=True)
    assert result.rc == 0, result.summary()
    assert hooks.errors == []
    destination = f"{service}:{name}"

    def writes(label: str) -> list[str]:
        return [call.action for call in hooks.calls(label) if call.action in WRITE_ACTIONS | STORE_WRITES]

    check = result.task("check")
    assert check["changed"] is True
    assert check["actions"] == [
        {"action": "create", "access_key_id": None},
        {"action": "store", "access_key_id": None, "destination": destination},
    ]
    assert check["diff"]["after"]["secret_store"] == {"destination": destination, "access_key_id": None}
    assert writes("check") == [] and hooks.state("check")["deploy"].keys == []

    created = result.task("create")
    (k1,) = stored["create"]["keys"]
    assert stored["create"]["current"]["AccessKeyId"] == k1
    assert created["access_key"]["access_key_id"] == k1 and "secret_access_key" not in created
    assert created["secret_store"]["name"] == name and created["secret_store"]["version"] is not None
    assert writes("create") == ["CreateAccessKey", "CreateSecret" if service == "secretsmanager" else "PutParameter"]

    again = result.task("again")
    assert (again["changed"], again["actions"], writes("again")) == (False, [], [])
    assert "GetSecretValue" not in [call.action for call in hooks.calls("again")]
    assert "GetParameter" not in [call.action for call in hooks.calls("again")]

    rotated = result.task("rotate")
    k2 = rotated["access_key"]["access_key_id"]
    assert [action["action"] for action in rotated["actions"]] == ["create", "store", "deactivate"]
    assert stored["rotate"]["keys"] == {k1: "Inactive", k2: "Active"}
    assert stored["rotate"]["current"]["AccessKeyId"] == k2
    if service == "secretsmanager":  # the service's own stages: consumers falling back to AWSPREVIOUS still work
        assert stored["rotate"]["previous"]["AccessKeyId"] == k1

    drift = result.task("drift")
    k3 = drift["access_key"]["access_key_id"]
    assert drift["rotated"] is True
    (warning,) = drift["warnings"]
    assert f"its current key {k2} is of no use to the consumers of {destination}" in warning
    # at the limit: the Inactive k1 makes room, k3 is created and stored, then k2 retired by previous_keys
    assert [(action["action"], action["access_key_id"]) for action in drift["actions"]] == [
        ("delete", k1),
        ("create", k3),
        ("store", k3),
        ("deactivate", k2),
    ]
    assert stored["drift"]["keys"] == {k2: "Inactive", k3: "Active"}
    assert stored["drift"]["current"]["AccessKeyId"] == k3
    settled = result.task("settled")
    assert (settled["changed"], writes("settled")) == (False, [])
    assert keys_of(iam, "deploy") == {k2: "Inactive", k3: "Active"}
    audit = result.task("audit")
    assert {entry["access_key_id"]: entry["in_secret_store"] for entry in audit["access_keys"]} == {k2: False, k3: True}
    assert_secrets_only_in_the_store(run_playbook, result, moto)


@pytest.mark.parametrize("path", PATHS)
def test_a_failed_store_write_leaves_no_key_whose_secret_nobody_holds(path, run_playbook, proxy, moto, iam):
    users = ["denied", "kms", "throttled", "lost", "undeletable"]
    for user in users:
        iam.create_user(UserName=user)
    previous = {user: iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"] for user in users}
    name = "apps/{user}".format
    sm = store_client(moto, "secretsmanager")
    for user in ("lost", "undeletable"):  # existing secrets: the write is PutSecretValue
        sm.create_secret(Name=name(user=user), SecretString="{}")

    def arm(*faults: tuple[str, str, int | None]):
        def set_faults() -> None:
            proxy.clear_faults()
            for kind, action, times in faults:
                proxy.add_fault(kind, action=action, times=times)

        return set_faults

    few_retries = {"aws_config": {"retries": {"mode": "standard", "total_max_attempts": 2}}}
    tasks = [
        store_task("denied", "denied", "secretsmanager", name(user="denied"), may_fail=True),
        store_task("kms", "kms", "secretsmanager", name(user="kms"), may_fail=True),
        store_task("throttled", "throttled", "ssm", "/apps/throttled", may_fail=True, **few_retries),
        store_task("lost", "lost", "secretsmanager", name(user="lost")),
        store_task("undeletable", "undeletable", "secretsmanager", name(user="undeletable"), may_fail=True),
    ]
    before = {
        "denied": arm(("access_denied", "CreateSecret", None)),
        "kms": arm(("kms_failure", "CreateSecret", None)),
        "throttled": arm(("throttle", "PutParameter", None)),
        "lost": arm(("lost", "PutSecretValue", 1)),
        "undeletable": arm(("access_denied", "PutSecretValue", None), ("access_denied", "DeleteAccessKey", None)),
    }
    with Hooks(proxy, iam, users) as hooks:
        result = run_playbook(hooks.around(tasks, before=before), env=PATHS[path], verbosity=3)
    proxy.clear_faults()
    assert result.rc == 0, result.summary()
    assert hooks.errors == []

    for user, action in (
        ("denied", "secretsmanager:CreateSecret failed: AccessDeniedException"),
        ("kms", "secretsmanager:CreateSecret failed: EncryptionFailure"),
        ("throttled", "ssm:PutParameter failed: ThrottlingException"),
    ):
        outcome = result.task(user)
        assert outcome["failed"] is True
        assert outcome["msg"].startswith(action), outcome["msg"]
        assert "was deleted again, so no key is left whose secret nobody holds" in outcome["msg"]
        assert "secret_access_key" not in outcome
        assert keys_of(iam, user) == {previous[user]: "Active"}  # the new key gone, the previous one untouched
    assert held(moto, "secretsmanager", name(user="denied")) is None
    assert held(moto, "ssm", "/apps/throttled") is None

    # the reply to PutSecretValue was lost: botocore resent it with the same ClientRequestToken, one version
    lost = result.task("lost")
    new = lost["access_key"]["access_key_id"]
    assert held(moto, "secretsmanager", name(user="lost"))["AccessKeyId"] == new
    versions = sm.list_secret_version_ids(SecretId=name(user="lost"))["Versions"]
    assert len(versions) == 2  # the placeholder it had, and the new key's: the retry made no third
    assert keys_of(iam, "lost") == {previous["lost"]: "Active", new: "Active"}

    # the write and the delete both refused: the key stays, named, and its secret is shown nowhere
    undeletable = result.task("undeletable")
    assert undeletable["failed"] is True
    (stranded,) = [key for key in keys_of(iam, "undeletable") if key != previous["undeletable"]]
    assert (
        f"access key {stranded}, created by this task whose secret was not stored, could not be deleted"
        in (undeletable["msg"])
    )
    assert "secret_access_key" not in undeletable
    assert_secrets_only_in_the_store(run_playbook, result, moto)


def test_the_stored_document_works_as_credential_process_output(run_playbook, moto, iam, tmp_path: Path):
    iam.create_user(UserName="app")
    result = run_playbook([store_task("store", "app", "secretsmanager", "apps/app/aws-key")])
    assert result.rc == 0, result.summary()
    key_id = result.task("store")["access_key"]["access_key_id"]
    # A consumer as the docs describe it, with the SDK in place of the AWS CLI: print SecretString, nothing else.
    reader = tmp_path / "read_secret.py"
    reader.write_text(
        textwrap.dedent(
            f"""
            import boto3
            client = boto3.client("secretsmanager", endpoint_url={moto.url!r}, region_name={REGION!r},
                                  aws_access_key_id="testing", aws_secret_access_key="testing")
            print(client.get_secret_value(SecretId="apps/app/aws-key")["SecretString"])
            """
        ),
        encoding="utf-8",
    )
    config = tmp_path / "config"
    config.write_text(f"[profile app]\ncredential_process = {sys.executable} {reader}\n", encoding="utf-8")
    env = {"AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    saved = {name: os.environ.get(name) for name in (*env, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    try:
        os.environ.update(env)
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ.pop(name, None)
        session = botocore.session.Session(profile="app")
        credentials = session.get_credentials()
        assert credentials.method == "custom-process" and credentials.access_key == key_id
        client = session.create_client("iam", endpoint_url=moto.url, region_name=REGION)
        assert client.get_user(UserName="app")["User"]["UserName"] == "app"
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    assert "LastUsedDate" in iam.get_access_key_last_used(AccessKeyId=key_id)["AccessKeyLastUsed"]  # signed with it
