# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Start coverage.py in a process only once it loads keyguard.aws's plugins (make integration puts this folder on
PYTHONPATH and names the coverage config in KEYGUARD_COVERAGE_START).

Most of an ansible-playbook process is ansible-core's own start-up, inventory and playbook parsing, and on Python 3.11
any trace function, coverage's C tracer included, puts every frame on the interpreter's slow path: measuring from
process start doubled a short playbook's time. Started on the first import of a module under
``ansible_collections.keyguard.aws.plugins``, or the first run of a plugin file's code, the measurement still covers
all that our code does: the forked workers that run tasks in-process are forks of the traced process (``patch =
fork``), and module processes start the same way.
"""

from __future__ import annotations

import os
import sys

_RCFILE = os.environ.get("KEYGUARD_COVERAGE_START")
_PLUGINS = "ansible_collections.keyguard.aws.plugins"
_PLUGINS_PATH = "/ansible_collections/keyguard/aws/plugins/"
_REQUESTS = ("COVERAGE_PROCESS_START", "COVERAGE_PROCESS_CONFIG")


def _forget_request() -> None:
    """coverage's ``patch = subprocess`` asks every later Python process to measure from its start; these start
    lazily too (KEYGUARD_COVERAGE_START stays in the environment)."""
    for name in _REQUESTS:
        os.environ.pop(name, None)


def _is_plugin_load(event: str, args: tuple) -> bool:
    """An import of a module under ``ansible_collections.keyguard.aws.plugins``, or the execution of a plugin file's
    code (ansible's plugin loader runs inventory and action plugins with exec(), without an import event)."""
    if event == "import":
        return str(args[0]).startswith(_PLUGINS)
    if event == "exec":
        return _PLUGINS_PATH in getattr(args[0], "co_filename", "")
    return False


def _start_on_first_plugin_import(event: str, args: tuple) -> None:
    global _RCFILE  # pylint: disable=global-statement
    if _RCFILE is None or not _is_plugin_load(event, args):
        return
    rcfile, _RCFILE = _RCFILE, None
    try:
        import coverage  # pylint: disable=import-outside-toplevel
    except ImportError:  # a Python other than the test venv's (tests of foreign interpreters): not measured
        return
    os.environ["COVERAGE_PROCESS_START"] = rcfile
    try:
        coverage.process_startup(slug="keyguard")
    finally:
        _forget_request()
    # Registered after coverage's own hook, so it runs after coverage restarts in a forked child.
    os.register_at_fork(after_in_child=_forget_request)


if _RCFILE:
    sys.addaudithook(_start_on_first_plugin_import)
