# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""The error types of keyguard.aws helpers (raised everywhere, turned into fail_json once, in main())."""

from __future__ import annotations

import typing as t


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
    """A non-idempotent call failed in a way that leaves unknown whether the service carried it out."""
