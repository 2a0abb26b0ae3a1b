# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""The IAM credential report: read it, and place its last-use columns on the keys ListAccessKeys returned.

One report row per user (and ``<root_account>`` for the root user, in real IAM), with two access-key slots whose
columns are ``access_key_N_active``, ``_last_rotated`` (the key's creation), ``_last_used_date``, ``_last_used_region``
and ``_last_used_service``. Values are ISO 8601 dates with ``+00:00``, or placeholders: ``N/A`` (no key, never used,
or, as AWS documents it, no rotation date for a key that is not Active), ``no_information``, ``not_supported``.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import threading
import time
import typing as t

from ansible_collections.keyguard.aws.plugins.module_utils._aws import AwsError
from ansible_collections.keyguard.aws.plugins.module_utils._aws_calls import call, utc
from ansible_collections.keyguard.aws.plugins.module_utils._key_types import (
    PLACEHOLDERS,
    AccessKey,
    LastUse,
    unless_placeholder,
)

# When to poll GenerateCredentialReport again, in seconds after the report was requested: 0.5 s, then 1 s and 2 s
# more. While the caller is still listing keys (read_credential_report's ``listing_done`` not set) the polls go on,
# each gap twice the last (4 s, 8 s, ...): the report is then fetched as soon as IAM has it, whatever the listing
# takes. The call budget allows this many polls once the listing is done.
CREDENTIAL_REPORT_POLL_DELAYS = (0.5, 1.0, 2.0)
SLOTS = ("1", "2")


@dataclasses.dataclass(frozen=True)
class CredentialReport:
    rows: list[dict[str, str]]
    generated_at: datetime.datetime | None = None  # IAM's GeneratedTime (moto's is a fixed date in 2015)


@dataclasses.dataclass(frozen=True)
class RequestedReport:
    state: str | None  # GenerateCredentialReport's answer: STARTED, INPROGRESS or COMPLETE
    requested_at: float  # time.monotonic() when that call was made
    error: AwsError | None = None  # the call failed (e.g. AccessDenied); read_credential_report raises it


def request_credential_report(client: t.Any) -> RequestedReport:
    """Ask IAM for a credential report (it reuses one up to 4 hours old). IAM generates it while the caller goes
    on with other calls; read_credential_report then waits only for what is left. Does not raise: a failed
    request is raised when the report is read."""
    requested_at = time.monotonic()  # polls count from the request going out, not from its answer
    try:
        state = call(client, "GenerateCredentialReport").get("State")
    except AwsError as exc:
        return RequestedReport(None, requested_at, exc)
    return RequestedReport(state, requested_at)


def read_credential_report(
    client: t.Any, requested: RequestedReport | None = None, listing_done: threading.Event | None = None
) -> CredentialReport:
    """The IAM credential report ``requested`` earlier (or now), polled at CREDENTIAL_REPORT_POLL_DELAYS.

    With ``listing_done`` (set once the caller's key listing is over), polling goes on for as long as the listing runs,
    and a wait ends early when the listing does. The report is given up only after the scheduled polls, and after one
    poll made once the listing was over."""
    requested = requested or request_credential_report(client)
    if requested.error is not None:
        raise requested.error
    state, polls, polled_after_listing = requested.state, 0, listing_done is None
    scheduled = len(CREDENTIAL_REPORT_POLL_DELAYS)
    while state != "COMPLETE":
        listing = listing_done is not None and not listing_done.is_set()
        if polls >= scheduled and not listing:
            if polled_after_listing:
                raise AwsError("the IAM credential report is still being generated")
            poll_at = time.monotonic()  # the schedule is over and so is the listing: one last poll
        else:
            poll_at = requested.requested_at + _poll_offset(polls)
        wait = poll_at - time.monotonic()
        if wait > 0:
            if not listing:
                time.sleep(wait)
            elif listing_done.wait(wait):
                continue  # the listing just ended: decide again
        polled_after_listing = listing_done is None or listing_done.is_set()
        state = call(client, "GenerateCredentialReport").get("State")
        polls += 1
    response = call(client, "GetCredentialReport")
    content = response.get("Content", b"")
    text = content.decode("utf-8") if isinstance(content, bytes) else str(content)
    generated = response.get("GeneratedTime")
    return CredentialReport(list(csv.DictReader(io.StringIO(text))), utc(generated) if generated else None)


def _poll_offset(polls: int) -> float:
    """When poll number ``polls`` (from 0) is due, in seconds after the request: 0.5, 1.5, 3.5, then 7.5, 15.5, ..."""
    offset, delay = 0.0, 0.0
    for number in range(polls + 1):
        delay = CREDENTIAL_REPORT_POLL_DELAYS[number] if number < len(CREDENTIAL_REPORT_POLL_DELAYS) else delay * 2
        offset += delay
    return offset


def report_time(value: str | None) -> datetime.datetime | None:
    """A report date (``2026-11-28T08:51:37+00:00``), or None for a placeholder or anything unparseable."""
    if not value or value in PLACEHOLDERS:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return utc(parsed)


def _slot_last_use(row: dict[str, str], slot: str) -> LastUse:
    return LastUse(
        date=report_time(row.get(f"access_key_{slot}_last_used_date")),
        service=unless_placeholder(row.get(f"access_key_{slot}_last_used_service")),
        region=unless_placeholder(row.get(f"access_key_{slot}_last_used_region")),
    )


def _same_second(first: datetime.datetime, second: datetime.datetime) -> bool:
    return first.replace(microsecond=0) == second.replace(microsecond=0)


def match_credential_report(keys: list[AccessKey], report: CredentialReport) -> dict[str, LastUse]:
    """Last use of each key the report places; keys it cannot place unambiguously are left out (looked up one by one).

    A slot belongs to a key of the same user whose creation second is the slot's ``last_rotated``. So a report
    generated before a key was created or rotated never gives that key another key's last use. A slot without a
    rotation date (a key that is not Active, as AWS documents the column) is placed only on a key that existed when
    the report was generated and whose slot the other slots leave no doubt about. moto's fixed GeneratedTime makes
    that never apply there: such keys are looked up instead.
    """
    rows = {row.get("user"): row for row in report.rows}
    keys_by_user: dict[str, list[AccessKey]] = {}
    for key in keys:
        keys_by_user.setdefault(key.user_name, []).append(key)

    matched: dict[str, LastUse] = {}
    for user_name, user_keys in keys_by_user.items():
        row = rows.get(user_name)
        if row is not None:
            matched.update(_match_row(user_keys, row, report.generated_at))
    return matched


def _match_row(
    user_keys: list[AccessKey], row: dict[str, str], generated_at: datetime.datetime | None
) -> dict[str, LastUse]:
    seconds = [key.create_date.replace(microsecond=0) for key in user_keys if key.create_date]
    # Two keys created in the same second cannot be told apart: both are looked up.
    distinct = [
        key for key in user_keys if key.create_date and seconds.count(key.create_date.replace(microsecond=0)) == 1
    ]
    matched: dict[str, LastUse] = {}
    undated_slots = []
    unexplained = False
    for slot in SLOTS:
        rotated = report_time(row.get(f"access_key_{slot}_last_rotated"))
        if rotated is None:
            undated_slots.append(slot)
            continue
        owner = next((key for key in distinct if _same_second(key.create_date, rotated)), None)
        if owner is None:
            unexplained = True  # a key since deleted, or a date that is not the creation: no guessing below
        else:
            matched[owner.access_key_id] = _slot_last_use(row, slot)
    if generated_at is None or unexplained:
        return matched
    in_report = [key for key in distinct if key.access_key_id not in matched and key.create_date <= generated_at]
    if in_report and len(undated_slots) >= len(in_report):
        # Each key that existed at generation is in one of the undated slots; if they all say the same, that is it.
        uses = {_slot_last_use(row, slot) for slot in undated_slots}
        if len(uses) == 1:
            matched.update({key.access_key_id: next(iter(uses)) for key in in_report})
    return matched
