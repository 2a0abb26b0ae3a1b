# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This plugin_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""keyguard.aws.access_key_audit: gather the audit results of many hosts from their variables, write the files.

Reading the registered results as stored (HostVars.raw_get) rather than through ``hostvars[host]`` is the point:
on ansible-core 2.19, every walk of a result through the templating layer costs about a second per few thousand
keys, and the Jinja-and-copy form of the report walked each result four times.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ansible_collections.keyguard.aws.plugins.plugin_utils._audit_report_render import render_csv, render_html

# The variables of the keyguard.aws.aws_accounts inventory that describe a host's account.
ACCOUNT_VARIABLES = {
    "account_id": "aws_account_id",
    "account_name": "aws_account_name",
    "ou_path": "aws_account_ou_path",
    "assume_role_arn": "assume_role_arn",
}
FILE_NAMES = {"json": "report.json", "csv": "report.csv", "html": "report.html"}


class AuditFilesError(ValueError):
    """Input the report cannot be written from, or a file that cannot be written (the message says which)."""


def gather_accounts(
    hosts: Iterable[str],
    result_var: str,
    raw_vars: Callable[[str], Mapping[str, Any] | None],
    render: Callable[[Mapping[str, Any], Any], Any],
) -> tuple[list[dict[str, Any]], list[str]]:
    """The account entries of build_audit_report for ``hosts``, and the hosts without ``result_var``.

    ``raw_vars(host)`` gives a host's variables as stored (None for a host not in the inventory); ``render(vars,
    value)`` renders one small value (an account variable may be a template) in the context of those variables.
    The registered results are taken as stored: they are data, never templates.
    """
    accounts, skipped = [], []
    for host in hosts:
        variables = raw_vars(host)
        if variables is None:
            raise AuditFilesError(f"host {host!r} is not in the inventory")
        if result_var not in variables:
            skipped.append(host)
            continue
        result = variables[result_var]
        if not isinstance(result, Mapping):
            raise AuditFilesError(
                f"{result_var} of host {host!r} is a {type(result).__name__}, not a registered task result"
            )
        entry: dict[str, Any] = {"host": host, "result": result}
        for field, variable in ACCOUNT_VARIABLES.items():
            if variable in variables:
                entry[field] = render(variables, variables[variable])
        accounts.append(entry)
    if not accounts and skipped:
        raise AuditFilesError(
            f"none of the {len(skipped)} hosts has a variable {result_var!r}: is it the name the audit task "
            "registered its result under?"
        )
    return accounts, skipped


def render_files(report: Mapping[str, Any], formats: Iterable[str]) -> dict[str, str]:
    """The text of each requested file, by format."""
    renderers = {
        "json": lambda: json.dumps(report, indent=4) + "\n",
        "csv": lambda: render_csv(report),
        "html": lambda: render_html(report),
    }
    return {name: renderers[name]() for name in formats}


def parse_mode(value: Any, option: str) -> int:
    """A file mode given as a number (YAML's ``0640`` is one) or as an octal string (``"0640"``)."""
    text = value.strip() if isinstance(value, str) else None
    if isinstance(value, int) and not isinstance(value, bool):
        mode = value
    elif text and set(text) <= set("01234567"):
        mode = int(text, 8)
    else:
        mode = -1
    if not 0 <= mode <= 0o7777:
        raise AuditFilesError(f"{option} must be a file mode such as '0640', got {value!r}")
    return mode


def report_paths(dest: str, formats: Iterable[str]) -> dict[str, str]:
    """The path of each format's file in ``dest``."""
    return {name: os.path.join(dest, FILE_NAMES[name]) for name in formats}


def write_files(texts: Mapping[str, str], dest: str, mode: int, directory_mode: int) -> dict[str, str]:
    """Write each text to its file in ``dest`` (created with ``directory_mode`` if missing), atomically, with ``mode``;
    the paths written, by format."""
    try:  # exist_ok accepts an existing folder only: a file in its place raises FileExistsError
        os.makedirs(dest, mode=directory_mode, exist_ok=True)
    except OSError as error:
        raise AuditFilesError(f"cannot create the folder {dest}: {error.strerror or error}") from None
    paths = report_paths(dest, texts)
    for name, text in texts.items():
        _write_atomically(paths[name], text, mode)
    return paths


def _write_atomically(path: str, text: str, mode: int) -> None:
    directory, base = os.path.split(path)
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{base}.", dir=directory or ".")
    except OSError as error:
        raise AuditFilesError(f"cannot write {path}: {error.strerror or error}") from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as error:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise AuditFilesError(f"cannot write {path}: {error.strerror or error}") from None
