# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""Access-key reports: status, age and last use for one key, one user or the whole account.

The set of keys always comes from ListAccessKeys. Last use of a whole account comes from the
IAM credential report (one call for every user, see ``_credential_report``); keys the report cannot
place, and every key when exact lookups are asked for, use GetAccessKeyLastUsed. Per-user calls run
on a bounded thread pool; botocore clients are thread-safe and their retry mode absorbs throttling.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import datetime
import typing as t

from ansible_collections.keyguard.aws.plugins.module_utils._aws import AwsError
from ansible_collections.keyguard.aws.plugins.module_utils._aws_calls import paginate, paginate_short, server_time
from ansible_collections.keyguard.aws.plugins.module_utils._credential_report import match_credential_report
from ansible_collections.keyguard.aws.plugins.module_utils._credential_report_fetch import CredentialReportFetch
from ansible_collections.keyguard.aws.plugins.module_utils._findings import (
    DEFAULT_MAX_AGE_DAYS,
    DEFAULT_UNUSED_DAYS,
    key_findings,
    root_account,
)
from ansible_collections.keyguard.aws.plugins.module_utils._key_reads import (
    key_last_used,
    read_last_use,
    read_user_keys,
)
from ansible_collections.keyguard.aws.plugins.module_utils._key_types import (
    ACTIVE,
    AccessKey,
    LastUse,
    request_fields,
    sort_keys,
    validate_names,
    whole_days,
)

DEFAULT_MAX_WORKERS = 4  # measured: benchmarks/RESULTS-latency.md, see the module docs
ROOT_ROW = "<root_account>"
MAX_WORKERS_LIMIT = 64
# GetAccountAuthorizationDetails returns at most 1000 entities a page.
AUTHORIZATION_DETAILS_PAGE_SIZE = 1000


@dataclasses.dataclass(frozen=True)
class ReportRequest:
    """What to report, validated."""

    user_name: str | None = None
    access_key_id: str | None = None
    path_prefix: str | None = None
    status: str | None = None
    older_than_days: int | None = None
    unused_for_days: int | None = None
    include_last_used: bool = True
    exact_last_used: bool = False
    max_workers: int = DEFAULT_MAX_WORKERS
    max_calls_per_second: float | None = None
    include_findings: bool = False
    findings_unused_days: int = DEFAULT_UNUSED_DAYS
    findings_max_key_age_days: int = DEFAULT_MAX_AGE_DAYS

    @classmethod
    def from_params(cls, params: dict[str, t.Any]) -> ReportRequest:
        """From the module's options as the argument spec validated them (choices, types and defaults applied)."""
        request = cls(**request_fields(cls, params))
        request.validate()
        return request

    def validate(self) -> None:
        """Reject, before any AWS call, what the argument spec cannot express: ranges, combinations, IAM's rules."""
        validate_names(self.user_name, self.access_key_id)
        if self.path_prefix is not None and not (self.path_prefix.startswith("/") and self.path_prefix.endswith("/")):
            raise AwsError(f"path_prefix {self.path_prefix!r} must begin and end with /, for example /service/")
        for name in ("older_than_days", "unused_for_days"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise AwsError(f"{name} must be 0 or more, got {value}")
        if self.unused_for_days is not None and not self.include_last_used:
            raise AwsError("unused_for_days needs last-use data; it cannot be combined with include_last_used=false")
        for name in ("findings_unused_days", "findings_max_key_age_days"):
            if getattr(self, name) < 1:
                raise AwsError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_calls_per_second is not None and self.max_calls_per_second <= 0:
            raise AwsError(f"max_calls_per_second must be greater than 0, got {self.max_calls_per_second}")
        if not 1 <= self.max_workers <= MAX_WORKERS_LIMIT:
            raise AwsError(f"max_workers must be between 1 and {MAX_WORKERS_LIMIT}, got {self.max_workers}")

    def input_warnings(self) -> list[str]:
        """Options given that cannot take effect together: harmless, so said rather than refused."""
        if self.exact_last_used and not self.include_last_used:
            return ["exact_last_used has no effect with include_last_used=false: no last use is looked up"]
        return []

    @property
    def last_use_from_report(self) -> bool:
        """Whether a whole-account report places last use from the credential report (not one lookup a key)."""
        return self.include_last_used and not self.exact_last_used

    @property
    def reads_credential_report(self) -> bool:
        """Whether a whole-account report reads the credential report: for last use, and for the root user's keys
        (CIS 1.4) whenever findings are asked for."""
        return self.last_use_from_report or self.include_findings

    def filters(self) -> dict[str, t.Any]:
        names = ("user_name", "access_key_id", "path_prefix", "status", "older_than_days", "unused_for_days")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}


@dataclasses.dataclass
class Collected:
    keys: list[AccessKey]
    last_used: dict[str, LastUse]
    now: datetime.datetime | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)
    credential_report_generated_at: datetime.datetime | None = None
    root_account: dict[str, str] | None = None  # the credential report's <root_account> row (real IAM has one)


# ---------------------------------------------------------------------------------------------
# Collecting
# ---------------------------------------------------------------------------------------------


def collect_for_key(client: t.Any, request: ReportRequest) -> Collected:
    """One key: its owner and last use come from GetAccessKeyLastUsed, the key itself from ListAccessKeys."""
    found = key_last_used(client, request.access_key_id)
    if found is None:
        raise AwsError(f"access key {request.access_key_id} does not exist")
    owner, last_use = found
    if request.user_name is not None and owner != request.user_name:
        raise AwsError(f"access key {request.access_key_id} belongs to user {owner}, not {request.user_name}")
    user_keys = read_user_keys(client, owner)
    keys = [key for key in user_keys.keys if key.access_key_id == request.access_key_id]
    if not keys:
        raise AwsError(f"access key {request.access_key_id} does not exist")
    last_used = {request.access_key_id: last_use} if request.include_last_used else {}
    return Collected(keys, last_used, user_keys.server_time)


def collect_for_user(client: t.Any, request: ReportRequest, check_mode: bool = False) -> Collected:
    user_keys = read_user_keys(client, request.user_name)
    if not user_keys.exists:
        if check_mode:  # a check-mode run of a play whose earlier task creates the user
            return Collected(
                [],
                {},
                warnings=[
                    f"IAM user {request.user_name} does not exist yet; check mode reports no keys for it, "
                    "assuming an earlier task creates the user"
                ],
            )
        raise AwsError(f"IAM user {request.user_name} does not exist")
    last_used: dict[str, LastUse] = {}
    if request.include_last_used:
        last_used = _lookup_last_use(client, [key.access_key_id for key in user_keys.keys], request.max_workers)
    return Collected(user_keys.keys, last_used, user_keys.server_time)


def collect_for_account(client: t.Any, request: ReportRequest) -> Collected:
    users, headers = paginate(
        client,
        "GetAccountAuthorizationDetails",
        "UserDetailList",
        Filter=["User"],
        PaginationConfig={"PageSize": AUTHORIZATION_DETAILS_PAGE_SIZE},
    )
    if request.path_prefix is not None:
        users = [user for user in users if user.get("Path", "/").startswith(request.path_prefix)]
    tags_by_user = {user["UserName"]: {tag["Key"]: tag["Value"] for tag in user.get("Tags", [])} for user in users}
    # The credential report is requested, polled and downloaded beside the listing (IAM generates it meanwhile).
    # It is read even when no user has a key: its <root_account> row is the only place the root user's keys show.
    fetch = CredentialReportFetch(client) if request.reads_credential_report else None
    try:
        keys = [
            AccessKey.from_api(item, user_name, tags_by_user[user_name].get(item["AccessKeyId"]))
            for user_name, metadata in zip(
                sorted(tags_by_user),
                _map_concurrently(_list_keys_of_user, client, sorted(tags_by_user), request.max_workers),
            )
            for item in metadata
        ]
    except BaseException:
        if fetch is not None:
            fetch.cancel()
        raise
    collected = Collected(keys, {}, server_time(headers))
    if fetch is not None:
        try:
            report = fetch.result()
        except AwsError as exc:
            instead = "looked up each key's last use instead; " if request.last_use_from_report and keys else ""
            collected.warnings.append(f"credential report unavailable ({exc}); {instead}root user's keys not checked")
        else:
            collected.credential_report_generated_at = report.generated_at
            collected.root_account = next((row for row in report.rows if row.get("user") == ROOT_ROW), None)
            if request.last_use_from_report:
                collected.last_used = match_credential_report(keys, report)
    if request.include_last_used:
        remaining = [key.access_key_id for key in keys if key.access_key_id not in collected.last_used]
        collected.last_used.update(_lookup_last_use(client, remaining, request.max_workers))
    return collected


def _list_keys_of_user(client: t.Any, user_name: str) -> list[dict[str, t.Any]]:
    listed = paginate_short(client, "ListAccessKeys", "AccessKeyMetadata", absent_ok=True, UserName=user_name)
    return listed[0] if listed else []  # None: the user was deleted since the user list was read


def _lookup_last_use(client: t.Any, key_ids: list[str], max_workers: int) -> dict[str, LastUse]:
    results = _map_concurrently(read_last_use, client, key_ids, max_workers)
    return dict(zip(key_ids, results))


def _map_concurrently(function: t.Callable, client: t.Any, items: list[t.Any], max_workers: int) -> list[t.Any]:
    """``[function(client, item) for item in items]`` on a bounded pool, in order; the first error is raised."""
    if len(items) <= 1 or max_workers == 1:
        return [function(client, item) for item in items]
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(max_workers, len(items))) as pool:
        return list(pool.map(lambda item: function(client, item), items))


# ---------------------------------------------------------------------------------------------
# Shaping the result (pure)
# ---------------------------------------------------------------------------------------------


def key_report_entry(
    key: AccessKey, now: datetime.datetime, last_use: LastUse | None, include_last_used: bool
) -> dict[str, t.Any]:
    entry = key.to_result()
    entry["age_days"] = whole_days(key.create_date, now) if key.create_date else None
    if include_last_used:
        use = last_use or LastUse()
        entry["last_used_date"] = use.date.isoformat() if use.date else None
        entry["last_used_service"] = use.service
        entry["last_used_region"] = use.region
        entry["days_since_last_used"] = whole_days(use.date, now) if use.date else None
    return entry


def matches_filters(entry: dict[str, t.Any], request: ReportRequest) -> bool:
    if request.status is not None and entry["status"] != request.status:
        return False
    if request.older_than_days is not None and (entry["age_days"] or 0) < request.older_than_days:
        return False
    if request.unused_for_days is not None:
        idle = entry["days_since_last_used"] if entry["days_since_last_used"] is not None else entry["age_days"]
        if (idle or 0) < request.unused_for_days:
            return False
    return True


def build_report(collected: Collected, request: ReportRequest) -> dict[str, t.Any]:
    now = collected.now or datetime.datetime.now(datetime.timezone.utc)
    keys = sorted(sort_keys(collected.keys), key=lambda key: key.user_name)  # stable: by user, then creation
    entries = [
        key_report_entry(key, now, collected.last_used.get(key.access_key_id), request.include_last_used)
        for key in keys
    ]
    active_by_user = collections.Counter(key.user_name for key in keys if key.status == ACTIVE)
    for entry in entries if request.include_findings else []:  # before filtering: every key of the user counts
        entry["findings"] = key_findings(
            entry,
            active_by_user[entry["user_name"]],
            request.findings_unused_days,
            request.findings_max_key_age_days,
        )
    entries = [entry for entry in entries if matches_filters(entry, request)]
    result: dict[str, t.Any] = {"changed": False, "access_keys": entries, "count": len(entries)}
    if collected.credential_report_generated_at is not None:
        result["credential_report_generated_at"] = collected.credential_report_generated_at.isoformat()
    if collected.root_account is not None:
        result["root_account"] = root_account(collected.root_account)
    filters = request.filters()
    if filters:
        result["filters"] = filters
    warnings = request.input_warnings() + collected.warnings
    if warnings:
        result["warnings"] = warnings
    return result
