# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""The secret store a new key's secret goes to: AWS Secrets Manager or SSM Parameter Store (a SecureString).

What is stored is one JSON document in the shape AWS's ``credential_process`` expects. Which key a store holds is
found without reading the secret: Secrets Manager's AWSCURRENT version id is derived from the access key id
(the ClientRequestToken of its write), a parameter's description names the access key id.
"""

from __future__ import annotations

import abc
import dataclasses
import json
import re
import typing as t
import uuid

from ansible_collections.keyguard.aws.plugins.module_utils._aws import AwsError
from ansible_collections.keyguard.aws.plugins.module_utils._aws_calls import call
from ansible_collections.keyguard.aws.plugins.module_utils._key_types import AccessKey

SERVICES = ("secretsmanager", "ssm")
# Version ids of Secrets Manager writes: uuid5 of the access key id in this namespace, so a retried or re-run write of
# the same key is the same version.
TOKEN_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://galaxy.ansible.com/ui/repo/published/keyguard/aws/")
ARN_PATTERN = re.compile(
    r"arn:(?P<partition>[\w-]+):(?P<service>[\w-]+):(?P<region>[\w-]*):(?P<account>\d*):(?P<rest>.+)"
)
DESCRIPTION_KEY_ID = re.compile(r"\baccess key (?P<key_id>[A-Z0-9]{16,128})\b")

SECRET_STORE_OPTIONS: dict[str, dict[str, t.Any]] = {
    "service": {"type": "str", "required": True, "choices": list(SERVICES)},
    "name": {"type": "str", "required": True},
    "kms_key_id": {"type": "str", "no_log": False},
    "region": {"type": "str"},
    "tags": {"type": "dict"},
}


@dataclasses.dataclass(frozen=True)
class StoreSpec:
    """Where a key's secret goes (the ``secret_store`` option), validated."""

    service: str
    name: str
    kms_key_id: str | None = None
    region: str | None = None
    tags: dict[str, str] | None = None

    @classmethod
    def from_option(cls, option: dict[str, t.Any] | None) -> StoreSpec | None:
        if option is None:
            return None
        spec = cls(**{field.name: option.get(field.name) for field in dataclasses.fields(cls)})
        spec.validate()
        return spec

    def validate(self) -> None:
        if not (self.name or "").strip():
            raise AwsError("secret_store.name must not be empty")
        match = ARN_PATTERN.fullmatch(self.name)
        if match and match.group("service") != self.service:
            raise AwsError(
                f"secret_store.name {self.name!r} is an ARN of {match.group('service')}, "
                f"not of secret_store.service {self.service}"
            )
        if self.service == "ssm" and match and not match.group("rest").startswith("parameter/"):
            raise AwsError(f"secret_store.name {self.name!r} is not the ARN of an SSM parameter")
        if self.service == "ssm" and not match and self.name.lstrip("/").lower().startswith(("aws", "ssm")):
            raise AwsError(f"secret_store.name {self.name!r}: Parameter Store reserves names beginning with aws or ssm")

    @property
    def destination(self) -> str:
        return f"{self.service}:{self.name}"


@dataclasses.dataclass(frozen=True)
class StoreState:
    """What a store holds: whether it exists, the access key id it holds as current (None: none of ours), its ARN
    and current version (Secrets Manager's version id, or the parameter's version number)."""

    exists: bool
    key_id: str | None = None
    arn: str | None = None
    version: str | int | None = None
    pending_deletion: bool = False


def credential_process_document(key: AccessKey, secret_access_key: str) -> str:
    """The stored value: what ``credential_process`` must print (extra fields are ignored by the SDKs)."""
    return json.dumps(
        {
            "Version": 1,
            "AccessKeyId": key.access_key_id,
            "SecretAccessKey": secret_access_key,
            "UserName": key.user_name,
            "CreateDate": key.create_date.isoformat() if key.create_date else None,
        }
    )


class SecretStore(abc.ABC):
    """The interface the task uses; ``open_store`` picks the service's implementation."""

    def __init__(self, client: t.Any, spec: StoreSpec) -> None:
        self.client = client
        self.spec = spec
        self.state = StoreState(exists=False)  # as last described or written

    def describe(self, key_ids: t.Iterable[str]) -> StoreState:
        """What the store holds, as one of ``key_ids`` (the candidates); never reads the secret. One call."""
        self.state = self._describe(list(key_ids))
        return self.state

    def write(self, key: AccessKey, secret_access_key: str) -> StoreState:
        """Store the key as the current value (creating the secret or parameter if ``describe`` found none)."""
        self.state = self._write(key, secret_access_key, self.state)
        return self.state

    def result(self) -> dict[str, t.Any]:
        """The task result's ``secret_store``: where, and the ARN and version it holds now."""
        return {
            "service": self.spec.service,
            "name": self.spec.name,
            "arn": self.state.arn,
            "version": self.state.version,
        }

    @abc.abstractmethod
    def _describe(self, key_ids: list[str]) -> StoreState:
        """What the store holds: whether it exists, and which of ``key_ids`` it holds as current, without its value."""

    @abc.abstractmethod
    def _write(self, key: AccessKey, secret_access_key: str, state: StoreState) -> StoreState:
        """Write ``key``'s document as the current value; return what the store holds then."""


class SecretsManagerStore(SecretStore):
    @staticmethod
    def version_id(key_id: str) -> str:
        return str(uuid.uuid5(TOKEN_NAMESPACE, key_id))

    def _describe(self, key_ids: list[str]) -> StoreState:
        described = call(self.client, "DescribeSecret", absent_ok=True, SecretId=self.spec.name)
        if described is None:
            return StoreState(exists=False)
        current = next(
            (version for version, stages in described.get("VersionIdsToStages", {}).items() if "AWSCURRENT" in stages),
            None,
        )
        held = next((key_id for key_id in key_ids if self.version_id(key_id) == current), None)
        return StoreState(True, held, described.get("ARN"), current, described.get("DeletedDate") is not None)

    def _write(self, key: AccessKey, secret_access_key: str, state: StoreState) -> StoreState:
        value = credential_process_document(key, secret_access_key)
        token = self.version_id(key.access_key_id)
        if state.exists:
            written = call(
                self.client, "PutSecretValue", SecretId=self.spec.name, SecretString=value, ClientRequestToken=token
            )
        else:
            extra: dict[str, t.Any] = {}
            if self.spec.kms_key_id:
                extra["KmsKeyId"] = self.spec.kms_key_id
            if self.spec.tags:
                extra["Tags"] = [{"Key": name, "Value": str(tag)} for name, tag in sorted(self.spec.tags.items())]
            written = call(
                self.client,
                "CreateSecret",
                Name=self.spec.name,
                SecretString=value,
                ClientRequestToken=token,
                Description=f"keyguard.aws: access key {key.access_key_id} of IAM user {key.user_name}",
                **extra,
            )
        return StoreState(True, key.access_key_id, written.get("ARN"), written.get("VersionId"))


class ParameterStore(SecretStore):
    @property
    def name(self) -> str:
        return self.parameter_name

    @property
    def parameter_name(self) -> str:
        """The name PutParameter takes: from an ARN, its name; a hierarchy gets the leading / Parameter Store needs."""
        match = ARN_PATTERN.fullmatch(self.spec.name)
        name = match.group("rest")[len("parameter/") :] if match else self.spec.name
        return "/" + name.lstrip("/") if "/" in name else name

    def _describe(self, key_ids: list[str]) -> StoreState:
        found = call(
            self.client,
            "DescribeParameters",
            ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [self.parameter_name]}],
        ).get("Parameters", [])
        if not found:
            return StoreState(exists=False)
        parameter = found[0]
        match = DESCRIPTION_KEY_ID.search(parameter.get("Description") or "")
        held = match.group("key_id") if match and match.group("key_id") in key_ids else None
        return StoreState(True, held, parameter.get("ARN"), parameter.get("Version"))

    def _write(self, key: AccessKey, secret_access_key: str, state: StoreState) -> StoreState:
        extra: dict[str, t.Any] = {}
        if self.spec.kms_key_id:
            extra["KeyId"] = self.spec.kms_key_id
        if not state.exists and self.spec.tags:  # PutParameter takes tags only when it creates the parameter
            extra["Tags"] = [{"Key": name, "Value": str(tag)} for name, tag in sorted(self.spec.tags.items())]
        written = call(
            self.client,
            "PutParameter",
            Name=self.parameter_name,
            Value=credential_process_document(key, secret_access_key),
            Type="SecureString",
            Description=f"keyguard.aws: access key {key.access_key_id} of IAM user {key.user_name}",
            Overwrite=state.exists,
            **extra,
        )
        return StoreState(True, key.access_key_id, state.arn, written.get("Version"))


def open_store(
    spec: StoreSpec | None, connection: dict[str, t.Any], client_factory: t.Callable[..., t.Any]
) -> SecretStore | None:
    """The store of ``spec`` (None without one), its client made with the task's connection options
    (``connection_kwargs``) and the store's own region if it has one. No call is made."""
    if spec is None:
        return None
    client = client_factory(spec.service, **{**connection, "region": spec.region or connection.get("region")})
    return SecretsManagerStore(client, spec) if spec.service == "secretsmanager" else ParameterStore(client, spec)
