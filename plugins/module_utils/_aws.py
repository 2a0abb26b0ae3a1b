# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""AWS connection plumbing shared by every keyguard.aws module.

Everything here takes plain values and raises ``AwsError``; nothing touches ``AnsibleModule``
or the process environment, and the only module-level state is a per-process cache of botocore's
read-only model data, so the same code can run inside a module process or in-process on the
controller.
"""

from __future__ import annotations

import gc
import gzip
import json
import os
import re
import typing as t
import urllib.parse

from ansible.module_utils.basic import env_fallback

try:
    import botocore
    import botocore.config
    import botocore.exceptions
    import botocore.loaders
    import botocore.session

    BOTOCORE_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised by the missing-SDK unit test through sys.modules
    BOTOCORE_IMPORT_ERROR = exc

COLLECTION_VERSION = "0.1.0"

# The one place the minimum SDK version lives; requirements.txt and the docs fragment repeat it.
MINIMUM_BOTOCORE_VERSION = "1.34.0"

# Bounded by default: a task against an unreachable or failing endpoint gives up after at most
# total_max_attempts x (connect_timeout + read_timeout) plus back-off (standard mode: under 30 s in all).
DEFAULT_RETRIES = {"mode": "standard"}
DEFAULT_TOTAL_MAX_ATTEMPTS = 5  # unless aws_config, the profile or AWS_MAX_ATTEMPTS says otherwise
DEFAULT_CONNECT_TIMEOUT = 10
DEFAULT_READ_TIMEOUT = 30
DEFAULT_IAM_REGION = "us-east-1"
SERVICE_NAME = "iam"

CONNECTION_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "access_key": {
        "type": "str",
        "aliases": ["aws_access_key_id", "aws_access_key"],
        "fallback": (env_fallback, ["AWS_ACCESS_KEY_ID"]),
        "no_log": False,
    },
    "secret_key": {
        "type": "str",
        "aliases": ["aws_secret_access_key", "aws_secret_key"],
        "fallback": (env_fallback, ["AWS_SECRET_ACCESS_KEY"]),
        "no_log": True,
    },
    "session_token": {
        "type": "str",
        "aliases": ["aws_session_token"],
        "fallback": (env_fallback, ["AWS_SESSION_TOKEN"]),
        "no_log": True,
    },
    "profile": {
        "type": "str",
        "aliases": ["aws_profile"],
        "fallback": (env_fallback, ["AWS_PROFILE"]),
    },
    "region": {
        "type": "str",
        "aliases": ["aws_region"],
        "fallback": (env_fallback, ["AWS_REGION", "AWS_DEFAULT_REGION"]),
    },
    "endpoint_url": {
        "type": "str",
        "aliases": ["aws_endpoint_url"],
        "fallback": (env_fallback, ["AWS_ENDPOINT_URL"]),
    },
    "validate_certs": {"type": "bool", "default": True},
    "aws_ca_bundle": {"type": "path", "fallback": (env_fallback, ["AWS_CA_BUNDLE"])},
    "aws_config": {"type": "dict"},
}


class AwsError(Exception):
    """The one error type raised by keyguard.aws helpers.

    ``code`` is the AWS error code when the failure came from AWS. ``result`` carries values that
    must still reach the user when a task fails part-way (for example a secret access key that was already created).
    """

    def __init__(self, message: str, code: str | None = None, result: dict[str, t.Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.result = dict(result or {})

    def __str__(self) -> str:
        return self.message


class AmbiguousRequestError(AwsError):
    """A non-idempotent call failed in a way that leaves unknown whether IAM carried it out."""


# Calls that must not be resent blindly: a resent CreateAccessKey whose first response was lost
# makes a second key whose secret nobody sees.
NON_IDEMPOTENT_OPERATIONS = ("CreateAccessKey",)


def refuse_ambiguous_retry(
    response: t.Any = None, caught_exception: Exception | None = None, operation: t.Any = None, **kwargs: t.Any
) -> None:
    """botocore ``needs-retry`` hook for non-idempotent calls.

    Throttling and connection failures before the request was sent are left to botocore's retry
    mode (IAM did not process the request). A 5xx, timeout or dropped connection after sending
    raises AmbiguousRequestError instead of letting botocore resend the request.
    """
    name = getattr(operation, "name", "the request")
    if caught_exception is not None:
        if isinstance(
            caught_exception, (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError)
        ):
            return None
        raise AmbiguousRequestError(
            f"iam:{name} failed after the request was sent ({type(caught_exception).__name__}: {caught_exception}); "
            "IAM may or may not have carried it out",
            code="Ambiguous",
        )
    if response is not None:
        http_response = response[0]
        if getattr(http_response, "status_code", 200) >= 500:
            error = response[1].get("Error", {}) if isinstance(response[1], dict) else {}
            raise AmbiguousRequestError(
                f"iam:{name} failed with HTTP {http_response.status_code} "
                f"({error.get('Code', 'no error code')}: {error.get('Message', 'no message')}); "
                "IAM may or may not have carried it out",
                code=error.get("Code") or "Ambiguous",
            )
    return None


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def require_sdk() -> None:
    """Raise AwsError unless a recent enough botocore is importable."""
    if BOTOCORE_IMPORT_ERROR is not None:
        raise AwsError(
            f"keyguard.aws requires botocore >= {MINIMUM_BOTOCORE_VERSION} on the host that runs the module "
            f"(import failed: {BOTOCORE_IMPORT_ERROR}); "
            f"install it with: pip install 'botocore>={MINIMUM_BOTOCORE_VERSION}'"
        )
    if _version_tuple(botocore.__version__) < _version_tuple(MINIMUM_BOTOCORE_VERSION):
        raise AwsError(
            f"keyguard.aws requires botocore >= {MINIMUM_BOTOCORE_VERSION}, found {botocore.__version__}; "
            f"upgrade it with: pip install 'botocore>={MINIMUM_BOTOCORE_VERSION}'"
        )


def _unset_if_empty(value: t.Any) -> t.Any:
    return None if value == "" else value


def connection_kwargs(params: dict[str, t.Any]) -> dict[str, t.Any]:
    """Turn the connection options into keyword arguments for ``iam_client``.

    Pure: validates combinations and returns plain data; no AWS call is made.
    """
    values = {name: _unset_if_empty(params.get(name)) for name in CONNECTION_ARGUMENT_SPEC}
    explicit_keys = values["access_key"] or values["secret_key"] or values["session_token"]
    if values["profile"] and explicit_keys:
        raise AwsError("profile cannot be combined with access_key, secret_key or session_token; use one or the other")
    if bool(values["access_key"]) != bool(values["secret_key"]):
        missing = "secret_key" if values["access_key"] else "access_key"
        raise AwsError(f"access_key and secret_key must be given together; {missing} is missing")

    verify: bool | str = bool(values["validate_certs"]) if values["validate_certs"] is not None else True
    if verify and values["aws_ca_bundle"]:
        verify = values["aws_ca_bundle"]

    if values["endpoint_url"] is not None:
        _validate_endpoint_url(values["endpoint_url"])
    config = dict(values["aws_config"] or {})
    _validate_aws_config(config)
    config.setdefault("retries", dict(DEFAULT_RETRIES))
    config.setdefault("connect_timeout", DEFAULT_CONNECT_TIMEOUT)
    config.setdefault("read_timeout", DEFAULT_READ_TIMEOUT)
    config.setdefault("user_agent_extra", f"keyguard.aws/{COLLECTION_VERSION}")

    return {
        "profile": values["profile"],
        "region": values["region"],
        "endpoint_url": values["endpoint_url"],
        "access_key": values["access_key"],
        "secret_key": values["secret_key"],
        "session_token": values["session_token"],
        "verify": verify,
        "config": config,
    }


def _validate_endpoint_url(url: str) -> None:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or " " in url:
        raise AwsError(f"endpoint_url {url!r} is not a valid http(s) URL, for example https://iam.amazonaws.com")


RETRY_MODES = ("legacy", "standard", "adaptive")


def _validate_aws_config(config: dict[str, t.Any]) -> None:
    """Catch the mistakes botocore would only report later, or without naming aws_config."""
    for name in ("connect_timeout", "read_timeout"):
        if name in config and (
            isinstance(config[name], bool) or not isinstance(config[name], (int, float)) or config[name] <= 0
        ):
            raise AwsError(f"aws_config.{name} must be a number of seconds greater than 0, got {config[name]!r}")
    retries = config.get("retries")
    if retries is None:
        return
    if not isinstance(retries, dict):
        raise AwsError(f"aws_config.retries must be a dictionary, got {retries!r}")
    if "mode" in retries and retries["mode"] not in RETRY_MODES:
        raise AwsError(f"aws_config.retries.mode must be one of {', '.join(RETRY_MODES)}, got {retries['mode']!r}")
    for name, minimum in (("total_max_attempts", 1), ("max_attempts", 0)):
        value = retries.get(name)
        if name in retries and (isinstance(value, bool) or not isinstance(value, int) or value < minimum):
            raise AwsError(f"aws_config.retries.{name} must be an integer of at least {minimum}, got {value!r}")


if BOTOCORE_IMPORT_ERROR is None:

    class ModelFileLoader(botocore.loaders.JSONFileLoader):
        """Reads botocore's data files (``<path>.json``, else ``<path>.json.gz``) into plain dicts.

        botocore builds an OrderedDict for every JSON object, which doubles the parse time; plain
        dicts keep their order too. endpoints.json, which every new process parses to build its first
        client, is over 1 MB.
        """

        def load_file(self, file_path: str) -> t.Any:
            for suffix, open_file in ((".json", open), (".json.gz", gzip.open)):
                if os.path.isfile(file_path + suffix):
                    with open_file(file_path + suffix, "rb") as stream:
                        return json.loads(stream.read().decode("utf-8"))
            return None

    class IamDataLoader(botocore.loaders.Loader):
        """botocore's data loader, knowing that IAM is the only service asked for.

        botocore checks that a service exists by listing every service directory it ships (over 400),
        once for each kind of model a client loads; that was most of the time it took to build an IAM
        client. Here only IAM's own directory is looked at, and files are parsed by ModelFileLoader.
        Everything else is botocore's own code.
        """

        FILE_LOADER_CLASS = ModelFileLoader

        def list_available_services(self, type_name: str) -> list[str]:
            try:
                self.list_api_versions(SERVICE_NAME, type_name)
            except botocore.exceptions.DataNotFoundError:
                return []
            return [SERVICE_NAME]


# One loader (and so one copy of the parsed models) per AWS_DATA_PATH for the life of the process.
_DATA_LOADERS: dict[str | None, t.Any] = {}


def data_loader(data_path: str | None) -> t.Any:
    """The process's IamDataLoader for ``data_path`` (botocore's ``data_path`` setting, AWS_DATA_PATH)."""
    loader = _DATA_LOADERS.get(data_path)
    if loader is None:
        extra_paths = [os.path.expanduser(os.path.expandvars(path)) for path in (data_path or "").split(os.pathsep)]
        loader = _DATA_LOADERS[data_path] = IamDataLoader(extra_search_paths=[path for path in extra_paths if path])
    return loader


def _iam_session(profile: str | None = None) -> t.Any:
    """A botocore session that builds its clients from the process's IamDataLoader."""
    session = botocore.session.Session(profile=profile)
    session.register_component("data_loader", data_loader(session.get_config_variable("data_path")))
    return session


def warm_up() -> None:
    """Load what building an IAM client needs (lazy botocore imports, parsed models) into this process.

    Worker processes forked from it afterwards build their clients in milliseconds.
    """
    if BOTOCORE_IMPORT_ERROR is not None:
        return
    try:
        client = _iam_session().create_client(
            SERVICE_NAME,
            region_name=DEFAULT_IAM_REGION,
            # No credentials are looked up for an unsigned client; it makes no call anyway.
            config=botocore.config.Config(signature_version=botocore.UNSIGNED),
        )
        client.get_paginator("list_access_keys")
    except botocore.exceptions.BotoCoreError:
        pass  # e.g. an unreadable AWS config file: the task that uses it will say so


def iam_client(
    *,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    session_token: str | None = None,
    verify: bool | str = True,
    config: dict[str, t.Any] | None = None,
) -> t.Any:
    """Build a botocore IAM client with botocore's own retry mode."""
    require_sdk()
    if isinstance(verify, str) and not os.path.isfile(verify):
        raise AwsError(f"aws_ca_bundle {verify!r} does not exist or is not a file")
    try:
        session = _iam_session(profile)
        config = dict(config or {})
        retries = config.get("retries")
        if (
            isinstance(retries, dict)
            and not {"max_attempts", "total_max_attempts"} & set(retries)
            and session.get_config_variable("max_attempts") is None
        ):
            config["retries"] = {**retries, "total_max_attempts": DEFAULT_TOTAL_MAX_ATTEMPTS}
        try:
            botocore_config = botocore.config.Config(**config)
        except TypeError as exc:
            raise AwsError(f"aws_config contains an option botocore.config.Config does not accept: {exc}") from None
        client = session.create_client(
            SERVICE_NAME,
            # IAM is global: without a configured region, sign for the aws partition's IAM region.
            region_name=region or session.get_config_variable("region") or DEFAULT_IAM_REGION,
            endpoint_url=endpoint_url,
            verify=verify,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            aws_session_token=session_token,
            config=botocore_config,
        )
    except botocore.exceptions.ProfileNotFound:
        raise AwsError(f"AWS profile {profile!r} was not found in the AWS config or credentials files") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise AwsError(f"could not create the IAM client: {exc}") from None
    except ValueError as exc:  # botocore rejects a malformed endpoint_url with a bare ValueError
        raise AwsError(f"could not create the IAM client: {exc}") from None
    for operation in NON_IDEMPOTENT_OPERATIONS:
        # More specific events run first, so this hook sees each failure before the retry mode does.
        client.meta.events.register(f"needs-retry.iam.{operation}", refuse_ambiguous_retry)
    return client


def tune_module_process() -> None:
    """Called first by a module's main(): a module process runs one task, then exits.

    With Python's default thresholds, a full collection over every object the imports made runs
    while botocore parses its models: about a tenth of a no-op task's module time. Collect rarely.
    """
    gc.set_threshold(50_000, 20, 100)


def error_code(exc: Exception) -> str | None:
    """The AWS error code of a ClientError, else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


def describe_failure(operation: str, exc: Exception) -> str:
    """One line saying which IAM operation failed and why, without a traceback or prefix repeats."""
    if BOTOCORE_IMPORT_ERROR is None and isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "Unknown")
        message = error.get("Message") or "no message"
        return f"iam:{operation} failed: {code}: {message}"
    if BOTOCORE_IMPORT_ERROR is None and isinstance(exc, botocore.exceptions.NoCredentialsError):
        return (
            f"iam:{operation} failed: no AWS credentials found; set access_key and secret_key, profile, "
            "or the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE environment variables"
        )
    if BOTOCORE_IMPORT_ERROR is None and isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return f"iam:{operation} failed: could not reach the IAM endpoint: {exc}"
    return f"iam:{operation} failed: {exc}"


def is_aws_failure(exc: Exception) -> bool:
    """True for the errors botocore raises for a failed call (as opposed to a bug in our code)."""
    return BOTOCORE_IMPORT_ERROR is None and isinstance(
        exc, (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError)
    )
