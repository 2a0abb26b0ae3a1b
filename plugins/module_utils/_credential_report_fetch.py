# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""The credential report of a whole-account report, fetched on a thread of its own while the keys are listed.

The request, the polls and the download are three or more calls one after another, each a round trip to IAM, and the
download of a large account's report is megabytes: none of it needs the keys. Done beside the listing, they are off
the report's critical path; only the matching of report rows to keys waits for both.
"""

from __future__ import annotations

import threading
import typing as t

from ansible_collections.keyguard.aws.plugins.module_utils._credential_report import (
    CredentialReport,
    read_credential_report,
    request_credential_report,
)


class CredentialReportFetch:
    """Request, poll and download the credential report in the background; ``result()`` once the keys are listed.

    One thread, so one IAM call at a time beside the listing's ``max_workers``. ``cancel()`` when the report is not
    needed after all (the listing failed): no call is made after the one in flight.
    """

    def __init__(self, client: t.Any) -> None:
        self._client = _CancellableClient(client)
        self._listing_done = threading.Event()
        self._report: CredentialReport | None = None
        self._error: BaseException | None = None
        # A daemon: a cancelled fetch still waiting between polls never holds the process open.
        self._thread = threading.Thread(target=self._fetch, name="keyguard-credential-report", daemon=True)
        self._thread.start()

    def _fetch(self) -> None:
        try:
            self._report = read_credential_report(
                self._client, request_credential_report(self._client), self._listing_done
            )
        except BaseException as error:  # an AwsError, or a bug of ours: result() raises it in the caller's thread
            self._error = error

    def result(self) -> CredentialReport:
        """The report (polling ends with the schedule now that the listing is over); raises the fetch's error."""
        self._listing_done.set()
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._report

    def cancel(self) -> None:
        self._client.cancelled = True
        self._listing_done.set()


class FetchCancelled(Exception):
    """Raised in the fetch's own thread by the call it would have made after cancel()."""


class _CancellableClient:
    """The IAM client, until cancelled: then every call raises FetchCancelled before it is made."""

    def __init__(self, client: t.Any) -> None:
        self._client = client
        self.cancelled = False

    def __getattr__(self, name: str) -> t.Any:
        if self.cancelled and name != "meta":
            raise FetchCancelled(name)
        return getattr(self._client, name)
