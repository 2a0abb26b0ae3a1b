# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This plugin_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""Render an audit report (plugin_utils/_audit_report.py's structure) as CSV and as one self-contained HTML page.

The page is a Jinja template rendered here with jinja2 itself (ansible-core's own dependency), with autoescaping
on: every value from AWS is HTML-escaped. Rendered through Ansible's template module instead, each of the page's
tens of thousands of lookups goes through Ansible's templating layer, which took seconds per thousand keys.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

import jinja2

from ansible_collections.keyguard.aws.plugins.plugin_utils._audit_report_page import HTML_TEMPLATE

CSV_COLUMNS = (
    "account_id",
    "account_name",
    "user_name",
    "access_key_id",
    "status",
    "age_days",
    "last_used_date",
    "last_used_service",
    "last_used_region",
    "findings",
)
FORMULA_PREFIXES = ("=", "+", "-", "@")


def _csv_cell(value: Any) -> str:
    """The cell's text; one a spreadsheet would run as a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def render_csv(report: Mapping[str, Any]) -> str:
    """One row per key of ``report``, every cell quoted; findings as their CIS control ids, ``;``-separated."""
    output = io.StringIO()
    writer = csv.writer(output, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for key in report.get("keys") or []:
        values = [key.get(column) for column in CSV_COLUMNS[:-1]]
        values.append(";".join(str(finding.get("cis_control")) for finding in key.get("findings") or []))
        writer.writerow([_csv_cell(value) for value in values])
    return output.getvalue()


def render_html(report: Mapping[str, Any]) -> str:
    """The page: summaries per account and per control, the errors, every key in a table sorted by its headers."""
    environment = jinja2.Environment(autoescape=True, trim_blocks=True, undefined=jinja2.ChainableUndefined)
    return environment.from_string(HTML_TEMPLATE).render(audit_report=report)
