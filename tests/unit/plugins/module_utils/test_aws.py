# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import collections
import datetime
import functools
import gc
import gzip
import os
import socket
from pathlib import Path
from typing import Any

import botocore
import botocore.exceptions
import botocore.loaders
import botocore.utils
import pytest
import yaml
from botocore.stub import Stubber
from unit_tasks import ensure_access_keys

from ansible_collections.keyguard.aws.plugins.module_utils import _aws, _botocore_loader
from ansible_collections.keyguard.aws.plugins.module_utils._aws import (
    AwsError,
    aws_client,
    connection_kwargs,
    describe_failure,
    error_code,
    is_aws_failure,
    require_sdk,
)
from ansible_collections.keyguard.aws.plugins.module_utils._aws_calls import call, paginate_short

iam_client = functools.partial(aws_client, "iam")

REPO_ROOT = Path(__file__).resolve().parents[4]
USER_AGENT = "keyguard.aws/0.1.0"
DEFAULT_RETRIES = {"mode": "standard"}
DEFAULT_CONFIG = {
    "retries": DEFAULT_RETRIES,
    "connect_timeout": 10,
    "read_timeout": 30,
    "user_agent_extra": USER_AGENT,
}
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRET"


@pytest.fixture
def clean_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No AWS settings from the outside world: empty config and credentials files, no instance metadata."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    config_file = tmp_path / "config"
    credentials_file = tmp_path / "credentials"
    config_file.write_text("")
    credentials_file.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config_file))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials_file))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# connection_kwargs (pure)
# ---------------------------------------------------------------------------------------------

UNSET = {
    "profile": None,
    "region": None,
    "endpoint_url": None,
    "access_key": None,
    "secret_key": None,
    "session_token": None,
    "verify": True,
    "config": DEFAULT_CONFIG,
}


def test_connection_kwargs_nothing_set() -> None:
    assert connection_kwargs({}) == UNSET


def test_connection_kwargs_empty_strings_are_unset() -> None:
    params = {
        name: ""
        for name in (
            "access_key",
            "secret_key",
            "session_token",
            "profile",
            "region",
            "endpoint_url",
            "aws_ca_bundle",
        )
    }
    assert connection_kwargs(params) == UNSET


def test_connection_kwargs_empty_profile_does_not_clash_with_keys() -> None:
    result = connection_kwargs({"profile": "", "access_key": "AKIAEXAMPLE", "secret_key": SECRET})
    assert result["profile"] is None
    assert result["access_key"] == "AKIAEXAMPLE"
    assert result["secret_key"] == SECRET


def test_connection_kwargs_all_values() -> None:
    params = {
        "access_key": "AKIAEXAMPLE",
        "secret_key": SECRET,
        "session_token": "token",
        "region": "eu-west-1",
        "endpoint_url": "http://127.0.0.1:5000",
        "validate_certs": True,
        "aws_ca_bundle": "/etc/ssl/bundle.pem",
        "aws_config": {"connect_timeout": 5},
        "user_name": "alice",  # module options are ignored
    }
    assert connection_kwargs(params) == {
        "profile": None,
        "region": "eu-west-1",
        "endpoint_url": "http://127.0.0.1:5000",
        "access_key": "AKIAEXAMPLE",
        "secret_key": SECRET,
        "session_token": "token",
        "verify": "/etc/ssl/bundle.pem",
        "config": {**DEFAULT_CONFIG, "connect_timeout": 5},
    }


def test_connection_kwargs_profile_alone() -> None:
    assert connection_kwargs({"profile": "dev"}) == {**UNSET, "profile": "dev"}


PROFILE_AND_KEYS = "profile cannot be combined with access_key, secret_key or session_token; use one or the other"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        pytest.param(
            {"profile": "dev", "access_key": "AKIAEXAMPLE", "secret_key": SECRET}, PROFILE_AND_KEYS, id="profile-keys"
        ),
        pytest.param({"profile": "dev", "access_key": "AKIAEXAMPLE"}, PROFILE_AND_KEYS, id="profile-access-key"),
        pytest.param({"profile": "dev", "secret_key": SECRET}, PROFILE_AND_KEYS, id="profile-secret-key"),
        pytest.param({"profile": "dev", "session_token": "token"}, PROFILE_AND_KEYS, id="profile-session-token"),
        pytest.param(
            {"access_key": "AKIAEXAMPLE"},
            "access_key and secret_key must be given together; secret_key is missing",
            id="access-key-without-secret",
        ),
        pytest.param(
            {"access_key": "AKIAEXAMPLE", "secret_key": ""},
            "access_key and secret_key must be given together; secret_key is missing",
            id="access-key-with-empty-secret",
        ),
        pytest.param(
            {"secret_key": SECRET},
            "access_key and secret_key must be given together; access_key is missing",
            id="secret-without-access-key",
        ),
    ],
)
def test_connection_kwargs_rejects(params: dict, message: str) -> None:
    with pytest.raises(AwsError) as excinfo:
        connection_kwargs(params)
    assert str(excinfo.value) == message
    assert SECRET not in str(excinfo.value)


@pytest.mark.parametrize(
    ("validate_certs", "aws_ca_bundle", "verify"),
    [
        pytest.param(None, None, True, id="default"),
        pytest.param(True, None, True, id="validate"),
        pytest.param(False, None, False, id="no-validate"),
        pytest.param(True, "/ca.pem", "/ca.pem", id="bundle"),
        pytest.param(None, "/ca.pem", "/ca.pem", id="bundle-default-validate"),
        pytest.param(False, "/ca.pem", False, id="no-validate-wins-over-bundle"),
        pytest.param(True, "", True, id="empty-bundle-unset"),
    ],
)
def test_connection_kwargs_verify(validate_certs: bool | None, aws_ca_bundle: str | None, verify: bool | str) -> None:
    result = connection_kwargs({"validate_certs": validate_certs, "aws_ca_bundle": aws_ca_bundle})
    assert result["verify"] == verify


@pytest.mark.parametrize(
    ("aws_config", "expected"),
    [
        pytest.param(None, DEFAULT_CONFIG, id="none"),
        pytest.param({}, DEFAULT_CONFIG, id="empty"),
        pytest.param(
            {"connect_timeout": 3, "read_timeout": 10},
            {**DEFAULT_CONFIG, "connect_timeout": 3, "read_timeout": 10},
            id="merged-with-defaults",
        ),
        pytest.param(
            {"retries": {"mode": "adaptive", "max_attempts": 10}},
            {**DEFAULT_CONFIG, "retries": {"mode": "adaptive", "max_attempts": 10}},
            id="retries-overridable",
        ),
        pytest.param(
            {"user_agent_extra": "my-tool/1.0"},
            {**DEFAULT_CONFIG, "user_agent_extra": "my-tool/1.0"},
            id="user-agent-overridable",
        ),
    ],
)
def test_connection_kwargs_aws_config(aws_config: dict | None, expected: dict) -> None:
    original = dict(aws_config) if aws_config is not None else None
    assert connection_kwargs({"aws_config": aws_config})["config"] == expected
    assert aws_config == original  # the caller's dict is not modified


def test_connection_kwargs_retry_mode_applies_unless_aws_config_sets_retries() -> None:
    assert connection_kwargs({}, retry_mode="adaptive")["config"]["retries"] == {"mode": "adaptive"}
    chosen = {"aws_config": {"retries": {"mode": "standard", "total_max_attempts": 3}}}
    assert connection_kwargs(chosen, retry_mode="adaptive")["config"]["retries"] == chosen["aws_config"]["retries"]
    timeouts_only = {"aws_config": {"read_timeout": 5}}
    assert connection_kwargs(timeouts_only, retry_mode="adaptive")["config"]["retries"] == {"mode": "adaptive"}


def test_connection_kwargs_default_retries_not_shared() -> None:
    first = connection_kwargs({})
    first["config"]["retries"]["mode"] = "legacy"
    assert connection_kwargs({})["config"]["retries"] == DEFAULT_RETRIES


def test_user_agent_carries_the_galaxy_version() -> None:
    galaxy = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())
    assert connection_kwargs({})["config"]["user_agent_extra"] == f"keyguard.aws/{galaxy['version']}"


def test_minimum_botocore_version_is_the_one_documented() -> None:
    requirements = (REPO_ROOT / "requirements.txt").read_text().splitlines()
    assert f"botocore>={_aws.MINIMUM_BOTOCORE_VERSION}" in requirements
    fragment = (REPO_ROOT / "plugins" / "doc_fragments" / "connection.py").read_text()
    assert f"botocore >= {_aws.MINIMUM_BOTOCORE_VERSION}" in fragment


# ---------------------------------------------------------------------------------------------
# iam_client
# ---------------------------------------------------------------------------------------------


def test_iam_client_retry_mode_standard_by_default(clean_aws_env: Path) -> None:
    params = {"access_key": "AKIAEXAMPLE", "secret_key": SECRET, "region": "us-east-1"}
    client = iam_client(**connection_kwargs(params))
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 5}
    assert (client.meta.config.connect_timeout, client.meta.config.read_timeout) == (10, 30)
    assert client.meta.config.user_agent_extra == USER_AGENT
    assert client.meta.service_model.service_name == "iam"
    assert client.meta.endpoint_url == "https://iam.amazonaws.com"


def test_iam_client_retries_overridden_by_aws_config(clean_aws_env: Path) -> None:
    params = {
        "access_key": "AKIAEXAMPLE",
        "secret_key": SECRET,
        "endpoint_url": "http://127.0.0.1:5000",
        "aws_config": {"retries": {"mode": "adaptive", "max_attempts": 7}, "connect_timeout": 4},
    }
    client = iam_client(**connection_kwargs(params))
    # botocore turns max_attempts (retries) into total_max_attempts (first attempt included)
    assert client.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 8}
    assert client.meta.config.connect_timeout == 4
    assert client.meta.endpoint_url == "http://127.0.0.1:5000"


@pytest.mark.parametrize(
    ("pool_connections", "aws_config", "expected"),
    [
        pytest.param(None, {}, 10, id="botocore's default"),
        pytest.param(8, {}, 10, id="fewer threads than botocore's pool"),
        pytest.param(32, {}, 32, id="one connection a thread"),
        pytest.param(32, {"max_pool_connections": 12}, 12, id="aws_config decides"),
    ],
)
def test_client_pool_holds_a_connection_for_each_thread(
    clean_aws_env: Path, pool_connections: int | None, aws_config: dict, expected: int
) -> None:
    params = {"access_key": "AKIAEXAMPLE", "secret_key": SECRET, "region": "us-east-1", "aws_config": aws_config}
    client = iam_client(**connection_kwargs(params), pool_connections=pool_connections)
    assert client.meta.config.max_pool_connections == expected


def test_iam_client_bad_aws_config_key(clean_aws_env: Path) -> None:
    with pytest.raises(AwsError) as excinfo:
        iam_client(**connection_kwargs({"aws_config": {"no_such_option": 1}}))
    message = str(excinfo.value)
    assert message.startswith("aws_config contains an option botocore.config.Config does not accept: ")
    assert "no_such_option" in message
    assert excinfo.value.__cause__ is None
    assert excinfo.value.__suppress_context__ is True


def test_iam_client_unknown_profile(clean_aws_env: Path) -> None:
    with pytest.raises(AwsError) as excinfo:
        iam_client(**connection_kwargs({"profile": "does-not-exist"}))
    assert str(excinfo.value) == "AWS profile 'does-not-exist' was not found in the AWS config or credentials files"


def test_iam_client_known_profile(clean_aws_env: Path) -> None:
    (clean_aws_env / "config").write_text("[profile dev]\nmax_attempts = 9\n")
    (clean_aws_env / "credentials").write_text(
        f"[dev]\naws_access_key_id = AKIADEV\naws_secret_access_key = {SECRET}\n"
    )
    client = iam_client(**connection_kwargs({"profile": "dev"}))
    # The profile's max_attempts is read, the retry mode stays ours.
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 9}


def test_iam_client_invalid_region(clean_aws_env: Path) -> None:
    with pytest.raises(AwsError) as excinfo:
        iam_client(**connection_kwargs({"access_key": "AKIAEXAMPLE", "secret_key": SECRET, "region": "us east 1"}))
    assert str(excinfo.value) == (
        "could not create the IAM client: Provided region_name 'us east 1' doesn't match a supported format."
    )


@pytest.mark.parametrize("endpoint_url", ["127.0.0.1:5000", "http://bad host:5000"], ids=["no-scheme", "space"])
def test_iam_client_malformed_endpoint_url(clean_aws_env: Path, endpoint_url: str) -> None:
    # A missing scheme is a common slip; it must fail as AwsError (a clear fail_json), not escape as ValueError.
    params = {"access_key": "AKIAEXAMPLE", "secret_key": SECRET, "endpoint_url": endpoint_url}
    with pytest.raises(AwsError) as excinfo:
        iam_client(**connection_kwargs(params))
    assert endpoint_url in str(excinfo.value)


# ---------------------------------------------------------------------------------------------
# Error translation
# ---------------------------------------------------------------------------------------------


def client_error(code: str, message: str | None, operation: str) -> botocore.exceptions.ClientError:
    error = {"Code": code}
    if message is not None:
        error["Message"] = message
    return botocore.exceptions.ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)


@pytest.mark.parametrize(
    ("operation", "exc", "expected"),
    [
        pytest.param(
            "ListAccessKeys",
            client_error("NoSuchEntity", "The user with name ghost cannot be found.", "ListAccessKeys"),
            "iam:ListAccessKeys failed: NoSuchEntity: The user with name ghost cannot be found.",
            id="client-error",
        ),
        pytest.param(
            "CreateAccessKey",
            client_error(
                "AccessDenied",
                "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: iam:CreateAccessKey",
                "CreateAccessKey",
            ),
            "iam:CreateAccessKey failed: AccessDenied: "
            "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: iam:CreateAccessKey",
            id="access-denied-names-action",
        ),
        pytest.param(
            "DeleteAccessKey",
            client_error("ServiceFailure", None, "DeleteAccessKey"),
            "iam:DeleteAccessKey failed: ServiceFailure: no message",
            id="client-error-without-message",
        ),
        pytest.param(
            "ListAccessKeys",
            botocore.exceptions.NoCredentialsError(),
            "iam:ListAccessKeys failed: no AWS credentials found; set access_key and secret_key, profile, "
            "or the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE environment variables",
            id="no-credentials",
        ),
        pytest.param(
            "ListAccessKeys",
            botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:1/"),
            'iam:ListAccessKeys failed: could not reach the IAM endpoint: Could not connect to the endpoint URL: "http://127.0.0.1:1/"',
            id="endpoint-connection",
        ),
        pytest.param(
            "TagUser",
            botocore.exceptions.ParamValidationError(report="Invalid length for parameter Tags[0].Value"),
            "iam:TagUser failed: Parameter validation failed:\nInvalid length for parameter Tags[0].Value",
            id="other-botocore-error",
        ),
    ],
)
def test_describe_failure(operation: str, exc: Exception, expected: str) -> None:
    message = describe_failure(operation, exc)
    assert message == expected
    assert message.count(f"iam:{operation} failed") == 1
    assert "An error occurred" not in message  # botocore's own prefix is not repeated


def test_error_code_and_is_aws_failure() -> None:
    exc = client_error("NoSuchEntity", "gone", "ListAccessKeys")
    assert error_code(exc) == "NoSuchEntity"
    assert error_code(ValueError("x")) is None
    assert error_code(botocore.exceptions.NoCredentialsError()) is None
    assert is_aws_failure(exc) is True
    assert is_aws_failure(botocore.exceptions.NoCredentialsError()) is True
    assert is_aws_failure(ValueError("x")) is False
    assert is_aws_failure(KeyError("AccessKeyId")) is False


def test_call_translates_client_error_once(clean_aws_env: Path) -> None:
    client = iam_client(access_key="AKIAEXAMPLE", secret_key=SECRET, region="us-east-1")
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "list_access_keys",
            service_error_code="NoSuchEntity",
            service_message="The user with name ghost cannot be found.",
            http_status_code=404,
            expected_params={"UserName": "ghost"},
        )
        with pytest.raises(AwsError) as excinfo:
            call(client, "ListAccessKeys", UserName="ghost")
        stubber.assert_no_pending_responses()
    assert str(excinfo.value) == "iam:ListAccessKeys failed: NoSuchEntity: The user with name ghost cannot be found."
    assert excinfo.value.code == "NoSuchEntity"
    assert excinfo.value.__cause__ is None
    assert excinfo.value.__suppress_context__ is True  # no chained botocore traceback


def test_call_lets_programming_errors_through(clean_aws_env: Path) -> None:
    client = iam_client(access_key="AKIAEXAMPLE", secret_key=SECRET, region="us-east-1")
    with Stubber(client) as stubber:
        stubber.add_response("get_user", {"User": _user("alice")}, {"UserName": "alice"})
        response = call(client, "GetUser", UserName="alice")
    assert response["User"]["UserName"] == "alice"
    with pytest.raises(AttributeError):
        call(client, "NoSuchOperation")


def _key(key_id: str) -> dict:
    created = datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone.utc)
    return {"UserName": "alice", "AccessKeyId": key_id, "Status": "Active", "CreateDate": created}


def test_paginate_short_is_one_call_for_a_list_that_fits_one_page(clean_aws_env: Path) -> None:
    client = iam_client(access_key="AKIAEXAMPLE", secret_key=SECRET, region="us-east-1")
    with Stubber(client) as stubber:
        answer = {"AccessKeyMetadata": [_key("AKIAFIRSTEXAMPLE0001")], "IsTruncated": False}
        stubber.add_response("list_access_keys", answer, {"UserName": "alice"})
        items, _headers = paginate_short(client, "ListAccessKeys", "AccessKeyMetadata", UserName="alice")
        stubber.assert_no_pending_responses()
    assert [item["AccessKeyId"] for item in items] == ["AKIAFIRSTEXAMPLE0001"]


def test_paginate_short_lists_again_with_the_paginator_when_truncated(clean_aws_env: Path) -> None:
    # IAM's quota of two keys a user keeps ListAccessKeys to one page; moto cannot be made to truncate it, so a
    # Stubber plays an IAM that would.
    client = iam_client(access_key="AKIAEXAMPLE", secret_key=SECRET, region="us-east-1")
    first = {"AccessKeyMetadata": [_key("AKIAFIRSTEXAMPLE0001")], "IsTruncated": True, "Marker": "page-2"}
    second = {"AccessKeyMetadata": [_key("AKIASECONDEXAMPLE002")], "IsTruncated": False}
    with Stubber(client) as stubber:
        stubber.add_response("list_access_keys", first, {"UserName": "alice"})
        stubber.add_response("list_access_keys", first, {"UserName": "alice"})  # the paginator's first page
        stubber.add_response("list_access_keys", second, {"UserName": "alice", "Marker": "page-2"})
        items, _headers = paginate_short(client, "ListAccessKeys", "AccessKeyMetadata", UserName="alice")
        stubber.assert_no_pending_responses()
    assert [item["AccessKeyId"] for item in items] == ["AKIAFIRSTEXAMPLE0001", "AKIASECONDEXAMPLE002"]


def test_paginate_short_absent(clean_aws_env: Path) -> None:
    client = iam_client(access_key="AKIAEXAMPLE", secret_key=SECRET, region="us-east-1")
    with Stubber(client) as stubber:
        stubber.add_client_error("list_access_keys", service_error_code="NoSuchEntity", http_status_code=404)
        assert paginate_short(client, "ListAccessKeys", "AccessKeyMetadata", absent_ok=True, UserName="ghost") is None


def _user(name: str) -> dict:
    return {
        "Path": "/",
        "UserName": name,
        "UserId": "AIDAEXAMPLEEXAMPLE01",
        "Arn": f"arn:aws:iam::123456789012:user/{name}",
        "CreateDate": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    }


# ---------------------------------------------------------------------------------------------
# The errors a task reports (no moto needed: nothing answers)
# ---------------------------------------------------------------------------------------------


def test_task_unreachable_endpoint(clean_aws_env: Path) -> None:
    port = closed_port()
    params = {
        "user_name": "alice",
        "access_key": "AKIAEXAMPLE",
        "secret_key": SECRET,
        "region": "us-east-1",
        "endpoint_url": f"http://127.0.0.1:{port}",
        "aws_config": {"retries": {"mode": "standard", "max_attempts": 1}},
    }
    with pytest.raises(AwsError) as excinfo:
        ensure_access_keys(params)
    assert str(excinfo.value) == (
        "iam:ListAccessKeys failed: could not reach the IAM endpoint: "
        f'Could not connect to the endpoint URL: "http://127.0.0.1:{port}/"'
    )
    assert SECRET not in str(excinfo.value)


def test_task_no_credentials(clean_aws_env: Path) -> None:
    params = {"user_name": "alice", "region": "us-east-1", "endpoint_url": f"http://127.0.0.1:{closed_port()}"}
    with pytest.raises(AwsError) as excinfo:
        ensure_access_keys(params)
    assert str(excinfo.value) == (
        "iam:ListAccessKeys failed: no AWS credentials found; set access_key and secret_key, profile, "
        "or the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE environment variables"
    )


def test_task_unknown_profile(clean_aws_env: Path) -> None:
    with pytest.raises(AwsError) as excinfo:
        ensure_access_keys({"user_name": "alice", "profile": "ghost-profile"})
    assert str(excinfo.value) == "AWS profile 'ghost-profile' was not found in the AWS config or credentials files"


def test_task_access_denied_names_the_action(clean_aws_env: Path) -> None:
    client = iam_client(access_key="AKIAEXAMPLE", secret_key=SECRET, region="us-east-1")
    denied = "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: iam:ListAccessKeys"
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "list_access_keys", service_error_code="AccessDenied", service_message=denied, http_status_code=403
        )
        with pytest.raises(AwsError) as excinfo:
            ensure_access_keys({"user_name": "alice"}, client=client)
    assert str(excinfo.value) == f"iam:ListAccessKeys failed: AccessDenied: {denied}"
    assert excinfo.value.code == "AccessDenied"


def test_task_validates_before_building_a_client(clean_aws_env: Path) -> None:
    # A malformed id fails before the (unknown) profile is even looked at.
    with pytest.raises(AwsError) as excinfo:
        ensure_access_keys({"id": "akia-lower", "profile": "ghost-profile"})
    assert str(excinfo.value) == ("id 'akia-lower' is not a valid access key id (16-128 upper-case letters and digits)")


# ---------------------------------------------------------------------------------------------
# require_sdk
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "version",
    [
        pytest.param("1.33.9", id="just-below"),
        pytest.param("1.9.0", id="numeric-not-lexical"),
        pytest.param("0.99.99", id="major-below"),
        pytest.param("1.33.99", id="patch-high-minor-low"),
    ],
)
def test_require_sdk_too_old(monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    monkeypatch.setattr(botocore, "__version__", version)
    with pytest.raises(AwsError) as excinfo:
        require_sdk()
    assert str(excinfo.value) == (
        f"keyguard.aws requires botocore >= 1.34.0, found {version}; upgrade it with: pip install 'botocore>=1.34.0'"
    )


@pytest.mark.parametrize("version", ["1.34.0", "1.34.0rc1", "1.34.162", "1.40.0", "2.0.0"])
def test_require_sdk_recent_enough(monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    monkeypatch.setattr(botocore, "__version__", version)
    assert require_sdk() is None


def test_require_sdk_too_old_blocks_iam_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(botocore, "__version__", "1.29.0")
    with pytest.raises(AwsError, match=r"requires botocore >= 1\.34\.0, found 1\.29\.0"):
        iam_client(region="us-east-1")


IMPORT_FAILED = (
    "keyguard.aws requires botocore >= 1.34.0 on the host that runs the module "
    "(import failed: No module named 'botocore'); install it with: pip install 'botocore>=1.34.0'"
)


def test_require_sdk_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_aws, "BOTOCORE_IMPORT_ERROR", ImportError("No module named 'botocore'"))
    with pytest.raises(AwsError) as excinfo:
        require_sdk()
    assert str(excinfo.value) == IMPORT_FAILED


def test_missing_sdk_fails_the_task_with_the_minimum_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_aws, "BOTOCORE_IMPORT_ERROR", ImportError("No module named 'botocore'"))
    with pytest.raises(AwsError) as excinfo:
        ensure_access_keys({"user_name": "alice", "region": "us-east-1"})
    assert str(excinfo.value) == IMPORT_FAILED


def test_describe_failure_without_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_aws, "BOTOCORE_IMPORT_ERROR", ImportError("No module named 'botocore'"))
    assert describe_failure("ListAccessKeys", RuntimeError("boom")) == "iam:ListAccessKeys failed: boom"
    assert is_aws_failure(RuntimeError("boom")) is False


# ---------------------------------------------------------------------------------------------
# botocore data loader, warm-up, module process tuning
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def count_model_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the botocore data files read from now on."""
    reads: list[str] = []
    original = _botocore_loader.ModelFileLoader.load_file

    def load_file(self: Any, file_path: str) -> Any:
        reads.append(file_path)
        return original(self, file_path)

    monkeypatch.setattr(_botocore_loader.ModelFileLoader, "load_file", load_file)
    return reads


def _key_order(value: Any) -> Any:
    """``value`` with every mapping turned into a list of (key, value) pairs, so that == compares order too."""
    if isinstance(value, dict):
        return [(key, _key_order(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [_key_order(item) for item in value]
    return value


@pytest.mark.parametrize(
    "relative_path",
    ["endpoints", "partitions", "iam/2010-05-08/service-2", "iam/2010-05-08/paginators-1"],
)
def test_model_file_loader_reads_what_botocore_reads(relative_path: str) -> None:
    path = os.path.join(botocore.loaders.Loader.BUILTIN_DATA_PATH, relative_path)
    ours = _botocore_loader.ModelFileLoader().load_file(path)
    botocores = botocore.loaders.JSONFileLoader().load_file(path)
    assert ours is not None
    assert isinstance(ours, dict) and not isinstance(ours, collections.OrderedDict)
    assert _key_order(ours) == _key_order(botocores)


@pytest.mark.parametrize(
    "value",
    [
        "2026-12-07T23:27:10Z",
        "2026-12-07T23:27:10.5Z",
        "2026-12-07T23:27:10.123Z",
        "2026-12-07T23:27:10.123456Z",
        "2026-12-07T23:27:10+00:00",
        "2026-12-07T23:27:10.25+00:00",
        "2026-12-08T01:27:10+02:00",
        "2026-12-07T18:27:10-05:00",
        "2026-12-07T23:27:10",  # no offset: botocore's parser decides
        "Mon, 07 Dec 2026 23:27:10 GMT",
        "1796685630",
        1796685630,
        1796685630.25,
    ],
)
def test_timestamp_parser_gives_what_botocore_gives(value: Any) -> None:
    ours = _botocore_loader.parse_timestamp(value)
    botocores = botocore.utils.parse_timestamp(value)
    assert ours == botocores
    assert ours.utcoffset() == botocores.utcoffset()
    assert ours.isoformat() == botocores.isoformat()


def test_timestamp_parser_refuses_what_botocore_refuses() -> None:
    with pytest.raises(ValueError, match="Invalid timestamp"):
        _botocore_loader.parse_timestamp("not a date")


def test_clients_parse_timestamps_with_our_parser(moto_iam: Any) -> None:
    moto_iam.create_user(UserName="dated")
    client = _aws.aws_client("iam", region="us-east-1")
    created = client.get_user(UserName="dated")["User"]["CreateDate"]
    assert created.tzinfo is datetime.timezone.utc
    assert created == moto_iam.get_user(UserName="dated")["User"]["CreateDate"]


def test_model_file_loader_prefers_plain_json_and_misses_quietly(tmp_path: Path) -> None:
    loader = _botocore_loader.ModelFileLoader()
    assert loader.load_file(str(tmp_path / "absent")) is None
    with gzip.open(tmp_path / "model.json.gz", "wb") as stream:
        stream.write(b'{"from": "gzip", "b": 1, "a": 2}')
    assert list(loader.load_file(str(tmp_path / "model")).items()) == [("from", "gzip"), ("b", 1), ("a", 2)]
    (tmp_path / "model.json").write_text('{"from": "json"}', encoding="utf-8")
    assert loader.load_file(str(tmp_path / "model")) == {"from": "json"}


def test_data_loader_lists_only_our_services(clean_aws_env: Path) -> None:
    loader = _botocore_loader.data_loader(None)
    assert loader.list_available_services("service-2") == ["iam", "sts", "secretsmanager", "ssm", "organizations"]
    assert "iam" in loader.list_available_services("paginators-1")
    assert loader.list_available_services("no-such-model-type-1") == []
    # Everything else is botocore's own loader: the same search paths and model as the default one.
    default = botocore.loaders.create_loader()
    assert loader.search_paths == default.search_paths
    assert loader.load_service_model("iam", "service-2") == default.load_service_model("iam", "service-2")


def test_data_loader_one_per_data_path(clean_aws_env: Path) -> None:
    extra = clean_aws_env / "models"
    extra.mkdir()
    assert _botocore_loader.data_loader(None) is _botocore_loader.data_loader(None)
    custom = _botocore_loader.data_loader(f"{extra}{os.pathsep}~/more")
    assert custom is not _botocore_loader.data_loader(None)
    assert custom.search_paths[:2] == [str(extra), os.path.expanduser("~/more")]


def test_iam_client_shares_the_loader_and_honours_aws_data_path(
    clean_aws_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = {"access_key": "AKIAEXAMPLE", "secret_key": SECRET, "region": "us-east-1"}
    first = iam_client(**connection_kwargs(params))
    second = iam_client(**connection_kwargs(params))
    assert first._loader is second._loader is _botocore_loader.data_loader(None)
    monkeypatch.setenv("AWS_DATA_PATH", str(clean_aws_env))
    third = iam_client(**connection_kwargs(params))
    assert third._loader is _botocore_loader.data_loader(str(clean_aws_env))
    assert third._loader.search_paths[0] == str(clean_aws_env)


def test_client_after_warm_up_reads_no_model_file(clean_aws_env: Path, count_model_reads: list[str]) -> None:
    _botocore_loader.warm_up()
    count_model_reads.clear()
    client = iam_client(**connection_kwargs({"access_key": "AKIAEXAMPLE", "secret_key": SECRET}))
    client.get_paginator("list_access_keys")
    assert count_model_reads == []
    assert client.meta.service_model.service_name == "iam"


def test_warm_up_survives_a_broken_aws_config(clean_aws_env: Path) -> None:
    (clean_aws_env / "config").write_text("[profile broken\nregion = us-east-1\n")
    _botocore_loader.warm_up()  # the task that uses the config reports the problem; the warm-up keeps quiet
    with pytest.raises(AwsError, match="could not create the IAM client"):
        iam_client(**connection_kwargs({"access_key": "AKIAEXAMPLE", "secret_key": SECRET}))


def test_warm_up_without_botocore_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_botocore_loader, "HAS_BOTOCORE", False)
    monkeypatch.setattr(_botocore_loader, "_DATA_LOADERS", {})
    _botocore_loader.warm_up()
    assert _botocore_loader._DATA_LOADERS == {}


def test_tune_module_process_collects_rarely() -> None:
    saved = gc.get_threshold()
    try:
        _botocore_loader.tune_module_process()
        assert gc.get_threshold() == (50_000, 20, 100)
        assert gc.isenabled()
    finally:
        gc.set_threshold(*saved)


@pytest.mark.parametrize(
    ("version", "applies"),
    [("1.34.0", True), ("1.44.8", True), ("1.33.9", False), ("1.45.0", False), ("2.0.0", False), ("dev", False)],
)
def test_speedups_only_on_the_botocore_releases_they_were_checked_against(version: str, applies: bool) -> None:
    assert _botocore_loader.speedups_apply(version) is applies


def test_other_botocore_releases_get_botocore_own_loader(clean_aws_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_botocore_loader.botocore, "__version__", "1.99.0")
    client = iam_client(**connection_kwargs({"access_key": "AKIAEXAMPLE", "secret_key": SECRET}))
    assert not isinstance(client._loader, _botocore_loader.ServiceDataLoader)
    assert client.meta.service_model.service_name == "iam"


@pytest.mark.parametrize("service", ["sts", "secretsmanager", "ssm", "organizations"])
def test_aws_client_for_each_service_with_the_same_options(clean_aws_env: Path, service: str) -> None:
    params = {"access_key": "AKIAEXAMPLE", "secret_key": SECRET, "region": "eu-west-1"}
    client = aws_client(service, **connection_kwargs(params))
    assert client.meta.service_model.endpoint_prefix == service
    assert client.meta.region_name == ("aws-global" if service == "organizations" else "eu-west-1")
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 5}
    assert "keyguard.aws/0.1.0" in client.meta.config.user_agent_extra


def test_global_services_default_to_the_partition_region(clean_aws_env: Path) -> None:
    keys = {"access_key": "AKIAEXAMPLE", "secret_key": SECRET}
    # botocore names the global endpoint's region aws-global; it signs for us-east-1
    for service in ("iam", "sts", "organizations"):
        assert aws_client(service, **connection_kwargs(keys)).meta.region_name in ("us-east-1", "aws-global")
    with pytest.raises(AwsError) as excinfo:
        aws_client("secretsmanager", **connection_kwargs(keys))
    assert str(excinfo.value).startswith("could not create the Secrets Manager client: ")


@pytest.mark.parametrize(
    ("retries", "mentions"),
    [({"mode": "turbo"}, "turbo"), ({"total_max_attempts": 0}, "total_max_attempts"), ({"retry": 1}, "retry")],
)
def test_retry_settings_botocore_rejects_name_aws_config(clean_aws_env: Path, retries: dict, mentions: str) -> None:
    params = {"access_key": "AKIAEXAMPLE", "secret_key": SECRET, "aws_config": {"retries": retries}}
    with pytest.raises(AwsError) as excinfo:
        iam_client(**connection_kwargs(params))
    assert str(excinfo.value).startswith("aws_config.retries ")
    assert mentions in str(excinfo.value)
    assert SECRET not in str(excinfo.value)


def test_call_names_the_service_of_the_client(clean_aws_env: Path) -> None:
    params = {"access_key": "AKIAEXAMPLE", "secret_key": SECRET, "region": "eu-west-1"}
    client = aws_client("secretsmanager", **connection_kwargs(params))
    with Stubber(client) as stubber:
        stubber.add_client_error("describe_secret", "ResourceNotFoundException", "Secrets Manager can't find it.")
        with pytest.raises(AwsError) as excinfo:
            call(client, "DescribeSecret", SecretId="apps/x")
        stubber.add_client_error("describe_secret", "ResourceNotFoundException", "Secrets Manager can't find it.")
        assert call(client, "DescribeSecret", absent_ok=True, SecretId="apps/x") is None
    assert str(excinfo.value) == (
        "secretsmanager:DescribeSecret failed: ResourceNotFoundException: Secrets Manager can't find it."
    )
