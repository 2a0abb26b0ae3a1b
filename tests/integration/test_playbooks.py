# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The playbooks in playbooks/, run as shipped (``import_playbook`` of the real file) against moto.

The harness's environment points the modules at the recording proxy in front of moto (AWS_ENDPOINT_URL and
dummy credentials), so the playbooks run unmodified; every test checks IAM afterwards with boto3.
"""

from __future__ import annotations

import datetime
import html.parser
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
import yaml
from helpers import allow, iam_client, moto_auth

REPO_ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = REPO_ROOT / "playbooks"
ANSIBLE_BIN_DIR = Path(sys.executable).parent
VAULT_PASSWORD = "correct horse battery staple"
WRITE_ACTIONS = {"CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey", "TagUser", "UntagUser"}
UNKNOWN_KEY_ID = "AKIAIOSFODNN7EXAMPLE"  # well-formed, never issued by moto


def playbook(name: str) -> list[dict[str, Any]]:
    """Run playbooks/<name> as it is: relative includes and templates resolve next to it."""
    return [{"import_playbook": str(PLAYBOOKS / name)}]


def keys_of(iam, user_name: str) -> dict[str, str]:
    """{access key id: status} of the user's keys."""
    return {key["AccessKeyId"]: key["Status"] for key in iam.list_access_keys(UserName=user_name)["AccessKeyMetadata"]}


def descriptions_of(iam, user_name: str) -> dict[str, str]:
    """The user's tags (the console stores key descriptions as tags named after the key id)."""
    return {tag["Key"]: tag["Value"] for tag in iam.list_user_tags(UserName=user_name)["Tags"]}


def output_of(result) -> str:
    """Everything the run showed or recorded: stdout, stderr and the callback's record of every task result."""
    results_file = result.playbook.parent / "results.jsonl"
    recorded = results_file.read_text(encoding="utf-8") if results_file.exists() else ""
    return result.stdout + result.stderr + recorded


def changed_tasks(result) -> list[str]:
    return [record["task"] for record in result.results if record["status"] == "changed"]


@pytest.fixture
def vault_password_file(tmp_path: Path) -> Path:
    path = tmp_path / "vault-password"
    path.write_text(VAULT_PASSWORD + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def vault_view(path: Path, password_file: Path) -> dict[str, Any]:
    """Decrypt ``path`` with the real ansible-vault and parse the YAML inside."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env["ANSIBLE_HOME"] = str(password_file.parent / "ansible-vault-home")
    completed = subprocess.run(
        [str(ANSIBLE_BIN_DIR / "ansible-vault"), "view", "--vault-password-file", str(password_file), str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return yaml.safe_load(completed.stdout)


def assert_secret_works(moto, iam, user_name: str, key_id: str, secret: str) -> None:
    """With moto checking signatures, the stored secret signs a request that IAM accepts; a wrong one does not."""
    iam.put_user_policy(UserName=user_name, PolicyName="list-keys", PolicyDocument=allow("iam:ListAccessKeys"))
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    with moto_auth(moto.url):
        listed = iam_client(moto.url, key_id, secret).list_access_keys(UserName=user_name)["AccessKeyMetadata"]
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            iam_client(moto.url, key_id, wrong).list_access_keys(UserName=user_name)
    assert key_id in [key["AccessKeyId"] for key in listed]
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    iam.delete_user_policy(UserName=user_name, PolicyName="list-keys")


def use_key(moto, user_name: str, key: dict[str, str]) -> None:
    """Sign one request with the key, so IAM records its last use at moto's current time."""
    iam_client(moto.url, key["AccessKeyId"], key["SecretAccessKey"]).list_access_keys(UserName=user_name)


# ---------------------------------------------------------------------------------------------
# bootstrap_service_key.yml
# ---------------------------------------------------------------------------------------------


def test_bootstrap_stores_the_secret_in_a_vault_file_and_never_prints_it(
    run_playbook, moto, iam, proxy, tmp_path, vault_password_file
):
    iam.create_user(UserName="deploy", Path="/service/")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    key_file = secrets / "deploy.vault.yml"
    extra_vars = {"service_user": "deploy", "key_file": str(key_file), "vault_password_file": str(vault_password_file)}

    preview = run_playbook(playbook("bootstrap_service_key.yml"), check=True, extra_vars=extra_vars)
    assert preview.rc == 0, preview.summary()
    assert keys_of(iam, "deploy") == {}
    assert not key_file.exists()

    # -vvv shows module arguments and results: the secret must not be among them either.
    created = run_playbook(playbook("bootstrap_service_key.yml"), extra_vars=extra_vars, verbosity=3)
    assert created.rc == 0, created.summary()

    keys = keys_of(iam, "deploy")
    assert list(keys.values()) == ["Active"]
    (key_id,) = keys
    assert descriptions_of(iam, "deploy") == {key_id: "bootstrap"}

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    raw = key_file.read_text(encoding="utf-8")
    assert raw.startswith("$ANSIBLE_VAULT;1.")
    stored = vault_view(key_file, vault_password_file)
    assert stored["user_name"] == "deploy"
    assert stored["access_key_id"] == key_id
    assert stored["create_date"]
    secret = stored["secret_access_key"]
    assert len(secret) >= 20
    assert secret not in raw
    assert secret not in output_of(created)
    assert secret not in output_of(preview)
    assert f"key {key_id} created and stored in {key_file}" in " ".join(created.stdout.split())
    assert_secret_works(moto, iam, "deploy", key_id, secret)

    # A re-run changes nothing: no new key, the file is left as it is.
    before = key_file.stat()
    proxy.reset_calls()
    again = run_playbook(playbook("bootstrap_service_key.yml"), extra_vars=extra_vars)
    assert again.rc == 0, again.summary()
    assert changed_tasks(again) == []
    assert not WRITE_ACTIONS & set(proxy.actions())
    assert keys_of(iam, "deploy") == {key_id: "Active"}
    assert key_file.stat().st_mtime_ns == before.st_mtime_ns
    assert key_file.read_text(encoding="utf-8") == raw
    assert f"key {key_id} already stored in {key_file}" in " ".join(again.stdout.split())

    # The key exists but this file never got its secret: stop, create nothing.
    elsewhere = secrets / "other.vault.yml"
    refused = run_playbook(playbook("bootstrap_service_key.yml"), extra_vars={**extra_vars, "key_file": str(elsewhere)})
    assert refused.rc != 0
    message = " ".join(refused.task("Stop if the key exists but its secret was never stored here")["msg"].split())
    assert f"deploy already has the key {key_id}" in message
    assert not elsewhere.exists()
    assert keys_of(iam, "deploy") == {key_id: "Active"}


def test_bootstrap_checks_where_the_secret_goes_before_creating_a_key(
    run_playbook, iam, proxy, tmp_path, vault_password_file
):
    iam.create_user(UserName="deploy")
    missing_dir = tmp_path / "no-such-folder" / "deploy.vault.yml"
    result = run_playbook(
        playbook("bootstrap_service_key.yml"),
        extra_vars={
            "service_user": "deploy",
            "key_file": str(missing_dir),
            "vault_password_file": str(vault_password_file),
        },
    )
    assert result.rc != 0
    assert "must exist and be writable" in result.task("Check that the key can be stored once it is created")["msg"]
    assert keys_of(iam, "deploy") == {}
    assert "CreateAccessKey" not in proxy.actions()


def test_bootstrap_deletes_the_key_again_when_the_secret_cannot_be_written(
    run_playbook, iam, tmp_path, vault_password_file
):
    iam.create_user(UserName="deploy")
    # The key file's path is a folder: the preflight check passes (its folder is writable), the write fails.
    key_file = tmp_path / "deploy.vault.yml"
    key_file.mkdir()
    result = run_playbook(
        playbook("bootstrap_service_key.yml"),
        extra_vars={
            "service_user": "deploy",
            "key_file": str(key_file),
            "vault_password_file": str(vault_password_file),
        },
    )
    assert result.rc != 0
    deleted = result.task("Delete the new key, whose secret could not be stored")
    assert [action["action"] for action in deleted["actions"]] == ["delete"]
    assert keys_of(iam, "deploy") == {}
    assert "was deleted again" in result.task("Stop here, the secret could not be stored")["msg"]


# ---------------------------------------------------------------------------------------------
# rotate_access_keys.yml
# ---------------------------------------------------------------------------------------------


def test_scheduled_rotation_replaces_old_keys_and_retires_them_once_idle(
    run_playbook, moto, iam, tmp_path, vault_password_file
):
    iam.create_user(UserName="deploy")
    iam.create_user(UserName="backup")
    old = iam.create_access_key(UserName="deploy")["AccessKey"]
    key_dir = tmp_path / "keys"
    key_dir.mkdir()
    extra_vars = {
        "rotation_users": [{"user_name": "deploy"}, {"user_name": "backup"}],
        "rotation_key_dir": str(key_dir),
        "vault_password_file": str(vault_password_file),
    }

    # Day 0: deploy's key is new, so it stays; backup has none and gets one (and its file).
    day0 = run_playbook(playbook("rotate_access_keys.yml"), extra_vars=extra_vars)
    assert day0.rc == 0, day0.summary()
    assert keys_of(iam, "deploy") == {old["AccessKeyId"]: "Active"}
    (backup_first,) = keys_of(iam, "backup")
    assert keys_of(iam, "backup") == {backup_first: "Active"}
    assert not (key_dir / "deploy.vault.yml").exists()
    assert vault_view(key_dir / "backup.vault.yml", vault_password_file)["access_key_id"] == backup_first

    # Day 91: both keys are due. deploy's old key was used an hour ago, so it is kept Active for now;
    # backup's first key was never used, so it is retired at once.
    moto.advance(days=91)
    use_key(moto, "deploy", old)
    moto.advance(hours=1)
    day91 = run_playbook(playbook("rotate_access_keys.yml"), extra_vars=extra_vars)
    assert day91.rc == 0, day91.summary()
    deploy_keys = keys_of(iam, "deploy")
    (deploy_new,) = set(deploy_keys) - {old["AccessKeyId"]}
    assert deploy_keys == {old["AccessKeyId"]: "Active", deploy_new: "Active"}
    backup_keys = keys_of(iam, "backup")
    (backup_new,) = set(backup_keys) - {backup_first}
    assert backup_keys == {backup_first: "Inactive", backup_new: "Active"}
    for user_name, key_id in (("deploy", deploy_new), ("backup", backup_new)):
        key_file = key_dir / f"{user_name}.vault.yml"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        stored = vault_view(key_file, vault_password_file)
        assert stored["access_key_id"] == key_id
        assert stored["secret_access_key"] not in output_of(day91)
        assert_secret_works(moto, iam, user_name, key_id, stored["secret_access_key"])
    report = " ".join(day91.stdout.split())
    assert f"current key {deploy_new} (new, rotated)" in report
    assert f"still in use, retired on a later run: {old['AccessKeyId']}" in report

    # Day 93: deploy's old key has been idle for two days now, so it is deactivated; nothing is created.
    moto.advance(days=2)
    day93 = run_playbook(playbook("rotate_access_keys.yml"), extra_vars=extra_vars)
    assert day93.rc == 0, day93.summary()
    assert keys_of(iam, "deploy") == {old["AccessKeyId"]: "Inactive", deploy_new: "Active"}
    assert keys_of(iam, "backup") == {backup_first: "Inactive", backup_new: "Active"}
    assert vault_view(key_dir / "deploy.vault.yml", vault_password_file)["access_key_id"] == deploy_new

    # Day 94: converged.
    moto.advance(days=1)
    day94 = run_playbook(playbook("rotate_access_keys.yml"), extra_vars=extra_vars)
    assert day94.rc == 0, day94.summary()
    assert changed_tasks(day94) == []
    assert keys_of(iam, "deploy") == {old["AccessKeyId"]: "Inactive", deploy_new: "Active"}


def test_rotation_stores_the_new_keys_of_the_other_users_when_one_user_fails(
    run_playbook, moto, iam, tmp_path, vault_password_file
):
    iam.create_user(UserName="deploy")
    key_dir = tmp_path / "keys"
    key_dir.mkdir()
    result = run_playbook(
        playbook("rotate_access_keys.yml"),
        extra_vars={
            "rotation_users": [{"user_name": "ghost"}, {"user_name": "deploy", "description": "ci"}],
            "rotation_key_dir": str(key_dir),
            "vault_password_file": str(vault_password_file),
        },
    )
    assert result.rc != 0
    assert "Rotation failed for ghost" in result.task("Fail if any user could not be rotated")["msg"]
    (key_id,) = keys_of(iam, "deploy")
    assert descriptions_of(iam, "deploy") == {key_id: "ci"}
    stored = vault_view(key_dir / "deploy.vault.yml", vault_password_file)
    assert stored["access_key_id"] == key_id
    assert stored["secret_access_key"] not in output_of(result)
    assert not (key_dir / "ghost.vault.yml").exists()


# ---------------------------------------------------------------------------------------------
# audit_access_keys.yml
# ---------------------------------------------------------------------------------------------


class ReportParser(html.parser.HTMLParser):
    """The audit report's tables (rows of cell texts) under each <h2 id=...>, and its summary counts."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, list[list[str]]] = {}
        self.counts: dict[str, str] = {}
        self._section: str | None = None
        self._count: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._in_strong = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "h2":
            self._section = attributes.get("id")
            self.sections[self._section] = []
        elif tag == "div" and (attributes.get("id") or "").startswith("count-"):
            self._count = attributes["id"]
        elif tag == "strong" and self._count:
            self._in_strong = True
        elif tag == "tr" and self._section:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "strong":
            self._in_strong = False
            self._count = None
        elif tag == "td" and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row:
                self.sections[self._section].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in_strong and self._count:
            self.counts[self._count] = data.strip()


def test_cis_audit_reports_old_and_unused_keys_in_html(run_playbook, moto, iam, proxy, tmp_path):
    for user_name in ("alice", "bob", "carol", "dave", "erin"):
        iam.create_user(UserName=user_name)
    start = moto.now()
    alice = iam.create_access_key(UserName="alice")["AccessKey"]  # 100 days old, used today: old
    bob = iam.create_access_key(UserName="bob")["AccessKey"]  # 100 days old, never used: old and unused
    erin = iam.create_access_key(UserName="erin")["AccessKey"]  # 100 days old but Inactive: not a finding
    iam.update_access_key(UserName="erin", AccessKeyId=erin["AccessKeyId"], Status="Inactive")
    moto.set_time(start + datetime.timedelta(days=50))
    carol = iam.create_access_key(UserName="carol")["AccessKey"]  # 50 days old, last used 48 days ago: unused
    moto.set_time(start + datetime.timedelta(days=52))
    use_key(moto, "carol", carol)
    moto.set_time(start + datetime.timedelta(days=95))
    dave = iam.create_access_key(UserName="dave")["AccessKey"]  # 5 days old, never used: fine
    moto.set_time(start + datetime.timedelta(days=100))
    use_key(moto, "alice", alice)
    before = {user_name: keys_of(iam, user_name) for user_name in ("alice", "bob", "carol", "dave", "erin")}

    report = tmp_path / "reports" / "access-keys.html"
    report.parent.mkdir()
    proxy.reset_calls()
    result = run_playbook(playbook("audit_access_keys.yml"), extra_vars={"audit_report": str(report)})
    assert result.rc == 0, result.summary()

    # It only read IAM.
    assert not WRITE_ACTIONS & set(proxy.actions())
    assert {user_name: keys_of(iam, user_name) for user_name in before} == before

    text = report.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    parser = ReportParser()
    parser.feed(text)
    parser.close()
    assert parser.counts == {"count-old": "2", "count-unused": "2", "count-active": "4"}
    old_rows = {row[1]: row for row in parser.sections["old"]}
    unused_rows = {row[1]: row for row in parser.sections["unused"]}
    assert set(old_rows) == {alice["AccessKeyId"], bob["AccessKeyId"]}
    assert set(unused_rows) == {bob["AccessKeyId"], carol["AccessKeyId"]}

    # columns: user, key id, created, age, last used, days since last use, description
    assert old_rows[alice["AccessKeyId"]][0] == "alice"
    assert old_rows[alice["AccessKeyId"]][3] == "100"
    # last use: the credential report's date (and service and region where the report has them)
    assert old_rows[alice["AccessKeyId"]][4].startswith((start + datetime.timedelta(days=100)).date().isoformat())
    assert old_rows[alice["AccessKeyId"]][5] == "0"
    assert old_rows[bob["AccessKeyId"]][3:6] == ["100", "never", "\N{EN DASH}"]
    assert unused_rows[carol["AccessKeyId"]][0] == "carol"
    assert unused_rows[carol["AccessKeyId"]][3] == "50"
    assert unused_rows[carol["AccessKeyId"]][5] == "48"
    for absent in (dave, erin):
        assert absent["AccessKeyId"] not in text

    summary = " ".join(result.task("Summarize the findings")["msg"].split())
    assert summary.startswith("2 Active keys are 90 days or older, 2 Active keys have not been used for 45 days")

    # As a pipeline gate it fails on findings, after writing the report.
    report.unlink()
    gate = run_playbook(
        playbook("audit_access_keys.yml"), extra_vars={"audit_report": str(report), "audit_fail_on_findings": True}
    )
    assert gate.rc != 0
    assert gate.task("Fail when a key breaks a rule and audit_fail_on_findings is set")["msg"].startswith("4 findings")
    assert report.exists()


def test_cis_audit_of_a_clean_account(run_playbook, iam, tmp_path):
    iam.create_user(UserName="alice")
    iam.create_access_key(UserName="alice")
    report = tmp_path / "audit.html"
    result = run_playbook(
        playbook("audit_access_keys.yml"), extra_vars={"audit_report": str(report), "audit_fail_on_findings": True}
    )
    assert result.rc == 0, result.summary()
    parser = ReportParser()
    parser.feed(report.read_text(encoding="utf-8"))
    assert parser.counts == {"count-old": "0", "count-unused": "0", "count-active": "1"}
    assert parser.sections["old"] == [] and parser.sections["unused"] == []
    assert "No Active key is 90 days or older." in report.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# deactivate_leaked_key.yml
# ---------------------------------------------------------------------------------------------


def test_incident_deactivates_a_leaked_key_given_only_its_id(run_playbook, moto, iam):
    for user_name in ("alice", "bob"):
        iam.create_user(UserName=user_name)
    alice_keys = [iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"] for _key in range(2)]
    leaked = iam.create_access_key(UserName="bob")["AccessKey"]
    use_key(moto, "bob", leaked)

    result = run_playbook(
        playbook("deactivate_leaked_key.yml"), extra_vars={"leaked_access_key_id": leaked["AccessKeyId"]}
    )
    assert result.rc == 0, result.summary()
    assert keys_of(iam, "bob") == {leaked["AccessKeyId"]: "Inactive"}
    assert keys_of(iam, "alice") == dict.fromkeys(alice_keys, "Active")
    record = " ".join(result.task("Record what was found in this account")["msg"].split())
    assert f"{leaked['AccessKeyId']} belongs to IAM user bob" in record
    assert "with iam in us-east-1" in record
    assert record.endswith("was Active, now Inactive")

    again = run_playbook(
        playbook("deactivate_leaked_key.yml"), extra_vars={"leaked_access_key_id": leaked["AccessKeyId"]}
    )
    assert again.rc == 0, again.summary()
    assert changed_tasks(again) == []
    assert keys_of(iam, "bob") == {leaked["AccessKeyId"]: "Inactive"}


def test_incident_fails_loudly_when_no_account_has_the_key(run_playbook, iam, proxy):
    iam.create_user(UserName="alice")
    key_id = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    result = run_playbook(playbook("deactivate_leaked_key.yml"), extra_vars={"leaked_access_key_id": UNKNOWN_KEY_ID})
    assert result.rc != 0
    assert "was not found in any of the searched accounts (localhost)" in " ".join(
        result.task("Fail unless an account had the key")["msg"].split()
    )
    assert keys_of(iam, "alice") == {key_id: "Active"}
    assert not WRITE_ACTIONS & set(proxy.actions())

    malformed = run_playbook(playbook("deactivate_leaked_key.yml"), extra_vars={"leaked_access_key_id": "not-a-key"})
    assert malformed.rc != 0
    assert "16-128 upper-case letters and digits" in malformed.task("Check the key id")["msg"]


def test_incident_searches_every_account_of_the_inventory(run_playbook, moto, iam, tmp_path):
    # A second account: in moto, the credentials of a role assumed in account 111111111111 act in that account.
    session_kwargs = {"region_name": "us-east-1", "endpoint_url": moto.url}
    sts = boto3.client("sts", aws_access_key_id="testing", aws_secret_access_key="testing", **session_kwargs)
    role = sts.assume_role(RoleArn="arn:aws:iam::111111111111:role/incident-response", RoleSessionName="incident")
    credentials = role["Credentials"]
    other_account = boto3.client(
        "iam",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        **session_kwargs,
    )
    iam.create_user(UserName="alice")
    home_key = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    other_account.create_user(UserName="carol")
    leaked = other_account.create_access_key(UserName="carol")["AccessKey"]["AccessKeyId"]

    inventory = tmp_path / "accounts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "aws_accounts": {
                    "hosts": {
                        "home": {},
                        "other": {
                            "aws_access_key": credentials["AccessKeyId"],
                            "aws_secret_key": credentials["SecretAccessKey"],
                            "aws_session_token": credentials["SessionToken"],
                        },
                    },
                    "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                }
            }
        ),
        encoding="utf-8",
    )
    result = run_playbook(
        playbook("deactivate_leaked_key.yml"),
        extra_vars={"leaked_access_key_id": leaked, "leaked_key_accounts": "aws_accounts"},
        extra_args=["-i", str(inventory)],
    )
    assert result.rc == 0, result.summary()
    assert keys_of(other_account, "carol") == {leaked: "Inactive"}
    assert keys_of(iam, "alice") == {home_key: "Active"}
    records = {
        record["host"]: " ".join(record["result"]["msg"].split())
        for record in result.records("Record what was found in this account")
    }
    assert records["home"] == f"{leaked} is not in this account"
    assert records["other"].startswith(f"{leaked} belongs to IAM user carol")


# ---------------------------------------------------------------------------------------------
# the playbooks' default: the secret goes straight into a secret store (issue 12)
# ---------------------------------------------------------------------------------------------


def read_store(moto, service: str, name: str, stage: str = "AWSCURRENT") -> dict[str, Any] | None:
    """The credential_process document the store holds (read by the test; the playbooks never read it)."""
    client = boto3.client(
        service, endpoint_url=moto.url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    try:
        if service == "ssm":
            value = client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
        else:
            value = client.get_secret_value(SecretId=name, VersionStage=stage)["SecretString"]
    except botocore.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] in ("ResourceNotFoundException", "ParameterNotFound"):
            return None
        raise
    return json.loads(value)


def test_bootstrap_into_secrets_manager_by_default(run_playbook, moto, iam, proxy):
    iam.create_user(UserName="deploy")
    extra_vars = {"service_user": "deploy", "secret_name": "apps/deploy/aws-key"}
    created = run_playbook(playbook("bootstrap_service_key.yml"), extra_vars=extra_vars, verbosity=3)
    assert created.rc == 0, created.summary()
    (key_id,) = keys_of(iam, "deploy")
    document = read_store(moto, "secretsmanager", "apps/deploy/aws-key")
    assert (document["Version"], document["AccessKeyId"], document["UserName"]) == (1, key_id, "deploy")
    assert document["SecretAccessKey"] not in output_of(created)
    assert_secret_works(moto, iam, "deploy", key_id, document["SecretAccessKey"])
    assert f"key {key_id} created and stored in secretsmanager:apps/deploy/aws-key" in " ".join(created.stdout.split())

    proxy.reset_calls()
    again = run_playbook(playbook("bootstrap_service_key.yml"), extra_vars=extra_vars)
    assert again.rc == 0, again.summary()
    assert changed_tasks(again) == []
    assert not (WRITE_ACTIONS | {"CreateSecret", "PutSecretValue"}) & set(proxy.actions())
    assert keys_of(iam, "deploy") == {key_id: "Active"}


def test_scheduled_rotation_into_a_secret_store(run_playbook, moto, iam, proxy):
    iam.create_user(UserName="deploy")
    iam.create_user(UserName="backup")
    legacy = iam.create_access_key(UserName="deploy")["AccessKey"]  # made before the store was used
    extra_vars = {"rotation_users": [{"user_name": "deploy"}, {"user_name": "backup", "secret_name": "/backup/key"}]}

    # Day 0, Parameter Store: backup gets its first key; deploy's store holds no key, so deploy gets a new one and
    # its legacy key becomes a previous key (never used: retired at once, previous_keys=deactivate).
    day0 = run_playbook(playbook("rotate_access_keys.yml"), extra_vars={**extra_vars, "rotation_store": "ssm"})
    assert day0.rc == 0, day0.summary()
    deploy_keys = keys_of(iam, "deploy")
    (deploy_new,) = set(deploy_keys) - {legacy["AccessKeyId"]}
    assert deploy_keys == {legacy["AccessKeyId"]: "Inactive", deploy_new: "Active"}
    assert read_store(moto, "ssm", "/iam-keys/deploy")["AccessKeyId"] == deploy_new
    (backup_key,) = keys_of(iam, "backup")
    assert read_store(moto, "ssm", "/backup/key")["AccessKeyId"] == backup_key
    for name in ("/iam-keys/deploy", "/backup/key"):
        assert read_store(moto, "ssm", name)["SecretAccessKey"] not in output_of(day0)
    report = " ".join(day0.stdout.split())
    assert f"current key {deploy_new} (new, rotated); in ssm:/iam-keys/deploy" in report

    # Day 1: converged, no write at all.
    moto.advance(days=1)
    proxy.reset_calls()
    day1 = run_playbook(playbook("rotate_access_keys.yml"), extra_vars={**extra_vars, "rotation_store": "ssm"})
    assert day1.rc == 0, day1.summary()
    assert changed_tasks(day1) == []
    assert not (WRITE_ACTIONS | {"PutParameter"}) & set(proxy.actions())
