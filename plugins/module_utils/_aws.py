# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""AWS connection plumbing shared by every keyguard.aws module: options, the client factory, errors.

Everything here takes plain values and raises ``AwsError``; nothing touches ``AnsibleModule``
or the process environment, so the same code can run inside a module process or in-process on the
controller. Calls themselves go through ``_aws_calls``.
"""

from __future__ import annotations

import os
import re
import typing as t
import urllib.parse

from ansible.module_utils.basic import env_fallback

from ansible_collections.keyguard.aws.plugins.module_utils import _assume_role, _botocore_loader, _rate_limit
from ansible_collections.keyguard.aws.plugins.module_utils._errors import AmbiguousRequestError, AwsError

try:
    import botocore
    import botocore.config
    import botocore.exceptions

    BOTOCORE_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised by the missing-SDK unit test through sys.modules
    BOTOCORE_IMPORT_ERROR = exc

COLLECTION_VERSION = "0.1.0"

# The one place the minimum SDK version lives; requirements.txt and the docs fragment repeat it.
MINIMUM_BOTOCORE_VERSION = "1.34.0"

# The retry policy, defined here only. botocore's standard mode retries throttling, 5xx and connection errors with
# back-off; a task makes DEFAULT_TOTAL_MAX_ATTEMPTS attempts a call (reports, which make many calls in parallel,
# REPORT_TOTAL_MAX_ATTEMPTS), unless aws_config, the profile or AWS_MAX_ATTEMPTS says otherwise. With the default
# timeouts, a call to an endpoint that accepts connections but never answers gives up after
# 5 x (10 s connect + 30 s read) plus back-off; a refused connection fails within seconds.
# Reports use adaptive mode: standard mode's retry quota (a client-wide budget of 500, 5 a throttled retry, refunded
# on success) runs dry when max_workers threads meet IAM's rate limit, and then throttled calls fail at once;
# adaptive mode also slows the client down to the rate IAM accepts. Mutations keep standard mode.
DEFAULT_RETRY_MODE = "standard"
REPORT_RETRY_MODE = "adaptive"
DEFAULT_TOTAL_MAX_ATTEMPTS = 5
REPORT_TOTAL_MAX_ATTEMPTS = 10
BOTOCORE_POOL_CONNECTIONS = 10  # botocore.config.Config's default max_pool_connections
DEFAULT_CONNECT_TIMEOUT = 10
DEFAULT_READ_TIMEOUT = 30
# Global services sign for the aws partition's region when none is configured.
GLOBAL_SERVICE_REGIONS = {"iam": "us-east-1", "organizations": "us-east-1", "sts": "us-east-1"}
# How error messages name a service (the IAM policy prefix) and its endpoint.
SERVICE_LABELS = {
    "iam": "IAM",
    "sts": "STS",
    "secretsmanager": "Secrets Manager",
    "ssm": "SSM",
    "organizations": "Organizations",
}

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
    "assume_role_arn": {"type": "str", "fallback": (env_fallback, ["AWS_ASSUME_ROLE_ARN"])},
    "assume_role_session_name": {
        "type": "str",
        "default": "keyguard-aws",
        "fallback": (env_fallback, ["AWS_ASSUME_ROLE_SESSION_NAME"]),
    },
    "assume_role_external_id": {
        "type": "str",
        "fallback": (env_fallback, ["AWS_ASSUME_ROLE_EXTERNAL_ID"]),
        "no_log": False,
    },
    "assume_role_duration_seconds": {
        "type": "int",
        "default": 3600,
        "fallback": (env_fallback, ["AWS_ASSUME_ROLE_DURATION_SECONDS"]),
    },
}
# The argument spec's checks of the connection options. profile beside explicit keys is refused by connection_kwargs
# instead: the argument spec counts an option given as "" as set, and "" means unset (the amazon.aws idiom
# profile: "{{ aws_profile | default('') }}" must go on working beside keys from the environment).
CONNECTION_ARGUMENT_RULES: dict[str, list[tuple[str, ...]]] = {
    "mutually_exclusive": [],
    "required_together": [("access_key", "secret_key")],
}


# Calls that must not be resent blindly, by service: a resent CreateAccessKey whose first response was lost makes a
# second key whose secret nobody sees.
NON_IDEMPOTENT_OPERATIONS = {"iam": ("CreateAccessKey",)}


def refuse_ambiguous_retry(
    response: t.Any = None, caught_exception: Exception | None = None, operation: t.Any = None, **kwargs: t.Any
) -> None:
    """botocore ``needs-retry`` hook for non-idempotent calls.

    Throttling and connection failures before the request was sent are left to botocore's retry
    mode (IAM did not process the request). A 5xx, timeout or dropped connection after sending
    raises AmbiguousRequestError instead of letting botocore resend the request.
    """
    name = getattr(operation, "name", "the request")
    service = _prefix(operation)
    unknown_outcome = f"{SERVICE_LABELS.get(service, service)} may or may not have carried it out"
    if caught_exception is not None:
        if isinstance(
            caught_exception, (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError)
        ):
            return None
        raise AmbiguousRequestError(
            f"{service}:{name} failed after the request was sent ({type(caught_exception).__name__}: "
            f"{caught_exception}); {unknown_outcome}",
            code="Ambiguous",
        )
    if response is not None:
        http_response = response[0]
        if getattr(http_response, "status_code", 200) >= 500:
            error = response[1].get("Error", {}) if isinstance(response[1], dict) else {}
            raise AmbiguousRequestError(
                f"{service}:{name} failed with HTTP {http_response.status_code} "
                f"({error.get('Code', 'no error code')}: {error.get('Message', 'no message')}); {unknown_outcome}",
                code=error.get("Code") or "Ambiguous",
            )
    return None


def _prefix(operation: t.Any) -> str:
    service_model = getattr(operation, "service_model", None)
    return getattr(service_model, "endpoint_prefix", None) or "iam"


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


def connection_kwargs(params: dict[str, t.Any], retry_mode: str = DEFAULT_RETRY_MODE) -> dict[str, t.Any]:
    """Turn the connection options into keyword arguments for ``aws_client``; ``retry_mode`` unless aws_config sets
    ``retries``.

    Pure: returns plain data; no AWS call is made. The argument spec rejects options given together that must not be
    (CONNECTION_ARGUMENT_RULES); an empty string means unset, which only code can say, so those cases are checked here.
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
    config.setdefault("retries", {"mode": retry_mode})
    config.setdefault("connect_timeout", DEFAULT_CONNECT_TIMEOUT)
    config.setdefault("read_timeout", DEFAULT_READ_TIMEOUT)
    config.setdefault("user_agent_extra", f"keyguard.aws/{COLLECTION_VERSION}")

    kwargs = {
        "profile": values["profile"],
        "region": values["region"],
        "endpoint_url": values["endpoint_url"],
        "access_key": values["access_key"],
        "secret_key": values["secret_key"],
        "session_token": values["session_token"],
        "verify": verify,
        "config": config,
    }
    assume_role = _assume_role.assume_role_options(values)
    if assume_role is not None:
        kwargs["assume_role"] = assume_role
    return kwargs


def _validate_endpoint_url(url: str) -> None:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or " " in url:
        raise AwsError(f"endpoint_url {url!r} is not a valid http(s) URL, for example https://iam.amazonaws.com")


def _validate_aws_config(config: dict[str, t.Any]) -> None:
    """Timeouts that botocore would only reject at the first call, without naming aws_config; botocore's Config
    checks the retry settings itself when the client is built."""
    for name in ("connect_timeout", "read_timeout"):
        if name in config and (
            isinstance(config[name], bool) or not isinstance(config[name], (int, float)) or config[name] <= 0
        ):
            raise AwsError(f"aws_config.{name} must be a number of seconds greater than 0, got {config[name]!r}")
    if "retries" in config and not isinstance(config["retries"], dict):
        raise AwsError(f"aws_config.retries must be a dictionary, got {config['retries']!r}")


def aws_client(
    service: str,
    *,
    profile: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    session_token: str | None = None,
    verify: bool | str = True,
    config: dict[str, t.Any] | None = None,
    assume_role: dict[str, t.Any] | None = None,
    total_max_attempts: int = DEFAULT_TOTAL_MAX_ATTEMPTS,
    max_calls_per_second: float | None = None,
    pool_connections: int | None = None,
) -> t.Any:
    """A botocore client for ``service`` ("iam", "sts", "secretsmanager", "ssm", "organizations") with the
    connection options (``connection_kwargs``), botocore's own retry mode and keyguard.aws's user agent.

    ``total_max_attempts`` applies unless aws_config, the profile or AWS_MAX_ATTEMPTS sets the attempts. With
    ``assume_role`` the client acts as that role, assumed with the other credentials (see ``_assume_role``).
    ``max_calls_per_second`` caps the client's request rate (see ``_rate_limit``). ``pool_connections``: keep at least
    that many connections open for threads that share the client, unless aws_config sets max_pool_connections
    (beyond botocore's pool of 10, each further call opens a connection, and a TLS handshake, and drops it).
    """
    require_sdk()
    label = SERVICE_LABELS.get(service, service)
    if isinstance(verify, str) and not os.path.isfile(verify):
        raise AwsError(f"aws_ca_bundle {verify!r} does not exist or is not a file")
    try:
        session = _botocore_loader.new_session(profile)
        config = dict(config or {})
        retries = config.get("retries")
        if (
            isinstance(retries, dict)
            and not {"max_attempts", "total_max_attempts"} & set(retries)
            and session.get_config_variable("max_attempts") is None
        ):
            config["retries"] = {**retries, "total_max_attempts": total_max_attempts}
        if pool_connections and pool_connections > BOTOCORE_POOL_CONNECTIONS and "max_pool_connections" not in config:
            config["max_pool_connections"] = pool_connections
        try:
            botocore_config = botocore.config.Config(**config)
        except TypeError as exc:
            raise AwsError(f"aws_config contains an option botocore.config.Config does not accept: {exc}") from None
        except botocore.exceptions.BotoCoreError as exc:  # e.g. an unknown retry mode, or 0 attempts
            raise AwsError(f"aws_config.retries {config.get('retries')!r} is not valid: {exc}") from None
        keys = {"access_key": access_key, "secret_key": secret_key, "session_token": session_token}
        if assume_role is not None:
            sts = {"endpoint_url": endpoint_url, "verify": verify, "config": botocore_config}
            sts["region_name"] = region or session.get_config_variable("region") or GLOBAL_SERVICE_REGIONS["sts"]
            credentials = _assume_role.assumed_role_credentials(session, assume_role, keys, sts)
            session.register_component("credential_provider", _assume_role.role_session_resolver(credentials))
            keys = {}
        client = session.create_client(
            service,
            region_name=region or session.get_config_variable("region") or GLOBAL_SERVICE_REGIONS.get(service),
            endpoint_url=endpoint_url,
            verify=verify,
            aws_access_key_id=keys.get("access_key"),
            aws_secret_access_key=keys.get("secret_key"),
            aws_session_token=keys.get("session_token"),
            config=botocore_config,
        )
    except botocore.exceptions.ProfileNotFound:
        raise AwsError(f"AWS profile {profile!r} was not found in the AWS config or credentials files") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise AwsError(f"could not create the {label} client: {exc}") from None
    except ValueError as exc:  # botocore rejects a malformed endpoint_url with a bare ValueError
        raise AwsError(f"could not create the {label} client: {exc}") from None
    if max_calls_per_second:
        client.meta.events.register(f"before-send.{service}", _rate_limit.RequestSpacer(max_calls_per_second).wait)
    for operation in NON_IDEMPOTENT_OPERATIONS.get(service, ()):
        # More specific events run first, so this hook sees each failure before the retry mode does.
        client.meta.events.register(f"needs-retry.{service}.{operation}", refuse_ambiguous_retry)
    return client


def error_code(exc: Exception) -> str | None:
    """The AWS error code of a ClientError, else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None


def describe_failure(operation: str, exc: Exception, service: str = "iam") -> str:
    """One line saying which operation failed and why (``iam:ListAccessKeys failed: ...``), without a traceback or
    prefix repeats."""
    action = f"{service}:{operation}"
    if BOTOCORE_IMPORT_ERROR is None and isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "Unknown")
        message = error.get("Message") or "no message"
        return f"{action} failed: {code}: {message}"
    if BOTOCORE_IMPORT_ERROR is None and isinstance(exc, botocore.exceptions.NoCredentialsError):
        return (
            f"{action} failed: no AWS credentials found; set access_key and secret_key, profile, "
            "or the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE environment variables"
        )
    if BOTOCORE_IMPORT_ERROR is None and isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return f"{action} failed: could not reach the {SERVICE_LABELS.get(service, service)} endpoint: {exc}"
    return f"{action} failed: {exc}"


def is_aws_failure(exc: Exception) -> bool:
    """True for the errors botocore raises for a failed call (as opposed to a bug in our code)."""
    return BOTOCORE_IMPORT_ERROR is None and isinstance(
        exc, (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError)
    )
