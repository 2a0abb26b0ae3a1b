# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""The options of keyguard.aws.access_key_audit, shared by its action plugin (which does the work on the
controller) and its module file (which carries the documentation)."""

from __future__ import annotations

import typing as t

REPORT_FORMATS = ("json", "csv", "html")

ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "hosts": {"type": "list", "elements": "str", "required": True},
    "result_var": {"type": "str", "required": True},
    "dest": {"type": "path", "required": True},
    "formats": {"type": "list", "elements": "str", "choices": list(REPORT_FORMATS), "default": list(REPORT_FORMATS)},
    "mode": {"type": "raw", "default": "0640"},
    "directory_mode": {"type": "raw", "default": "0750"},
    "max_key_age_days": {"type": "int", "default": 90, "no_log": False},
    "unused_days": {"type": "int", "default": 45},
    "generator": {"type": "str", "default": "keyguard.aws"},
}
