# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This plugin_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""Run a keyguard.aws module's logic inside the controller's worker process.

Ansible normally starts a new Python process for every task and loop item, which then imports
botocore and builds a client. When the task runs on the controller anyway (a ``local``
connection), the same module_utils code, argument validation, check mode, diff mode and
no_log handling can run right here, reusing one IAM client per set of connection options for
the life of the worker process (so loop items do not rebuild it).

Importing botocore takes about a quarter of a second, so the action plugins import the module
code only when a task runs in-process. Each worker is a fork of the controller's main process:
once a task has run in-process, the main process imports the module code and loads botocore's
IAM models itself before it forks the next worker (``preload_in_controller``), so every later
worker starts with them. When the main process has imported botocore anyway (the aws_accounts
inventory plugin does), it preloads before the first worker. Playbooks whose tasks all run as
modules (remote hosts) never pay for botocore on the controller.
"""

from __future__ import annotations

import importlib
import json
import mmap
import multiprocessing
import os
import sys
import types
import typing as t

from ansible import constants as C
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

# Set to false (task variable, or environment variable of the controller) to always run the module.
IN_PROCESS_VARIABLE = "keyguard_aws_in_process"
IN_PROCESS_ENVIRONMENT = "KEYGUARD_AWS_IN_PROCESS"
LOCAL_CONNECTIONS = frozenset({"local", "ansible.builtin.local", "ansible.legacy.local"})
# interpreter_python values that ask Ansible to discover the interpreter rather than name one
AUTO_INTERPRETERS = frozenset({"auto", "auto_silent", "auto_legacy", "auto_legacy_silent"})

# One client per set of connection options for the life of this worker process: a cache, not state.
_CLIENTS: dict[str, t.Any] = {}
# Python modules (the keyguard.aws modules whose action plugins are loaded) for preload_in_controller.
_TO_PRELOAD: set[str] = set()
# Byte 0 is set by a worker that runs a task in-process. Anonymous shared memory: the main process
# creates it when it loads the first of these plugins, and its workers share it through fork.
_RAN_IN_PROCESS = mmap.mmap(-1, 1)
_CONTROLLER_PID = os.getpid()


def aws_utils() -> types.ModuleType:
    """module_utils._aws, imported on first use: it imports botocore (see preload_in_controller)."""
    return importlib.import_module("ansible_collections.keyguard.aws.plugins.module_utils._aws")


def cached_client(service: str, **kwargs: t.Any) -> t.Any:
    """The client factory of in-process tasks: ``_aws.aws_client``, one client per service and options a process."""
    cache_key = json.dumps([service, kwargs], sort_keys=True, default=str)
    client = _CLIENTS.get(cache_key)
    if client is None:
        client = _CLIENTS[cache_key] = aws_utils().aws_client(service, **kwargs)
    return client


def task_import_name(task_module: str) -> str:
    """``_key_task`` -> the Python module in module_utils that holds a task's options and run()."""
    return f"ansible_collections.keyguard.aws.plugins.module_utils.{task_module}"


def botocore_in_controller() -> bool:
    """Whether the main process has botocore already (the aws_accounts inventory plugin imports it, for one)."""
    return "botocore.session" in sys.modules


def preload_in_controller() -> None:
    """Fork hook of the main process: once a task has run in-process, or botocore is loaded here anyway, import the
    module code and warm botocore up."""
    if not _TO_PRELOAD or os.getpid() != _CONTROLLER_PID:
        return
    if not (_RAN_IN_PROCESS[0] or botocore_in_controller()):
        return
    while _TO_PRELOAD:
        importlib.import_module(_TO_PRELOAD.pop())
    importlib.import_module("ansible_collections.keyguard.aws.plugins.module_utils._botocore_loader").warm_up()


# Only the controller's main process preloads: workers are forked from it and do not fork workers themselves.
if multiprocessing.parent_process() is None:
    os.register_at_fork(before=preload_in_controller)


def _same_interpreter(first: str, second: str) -> bool:
    """Paths compared as given, symlinks not resolved: a venv's python links to its base interpreter but has other
    packages. Two names in one directory for one file (a venv's python and python3) are the same interpreter."""
    first, second = os.path.normpath(os.path.expanduser(first)), os.path.normpath(os.path.expanduser(second))
    if first == second:
        return True
    try:
        return os.path.dirname(first) == os.path.dirname(second) and os.path.samefile(first, second)
    except OSError:
        return False


def foreign_interpreter_reason(
    interpreter: str | None, playbook_python: str | None, controller_python: str = sys.executable
) -> str | None:
    """Why a task whose Python interpreter is ``interpreter`` must run as a module, or None when that interpreter is
    the controller's own Python (unset, an ``auto`` value, ``ansible_playbook_python`` or ``sys.executable``), whose
    botocore the in-process path uses."""
    if interpreter is None or not str(interpreter).strip() or str(interpreter).strip() in AUTO_INTERPRETERS:
        return None
    interpreter = str(interpreter).strip()
    if any(_same_interpreter(interpreter, python) for python in (playbook_python, controller_python) if python):
        return None
    return f"ansible_python_interpreter is {interpreter}, not the controller's Python {controller_python}"


def _plain(value: t.Any) -> t.Any:
    """Task arguments as the module would receive them after JSON: plain str, dict and list, not Ansible's
    tagged subclasses (ansible-core < 2.19 names those, e.g. AnsibleUnicode, in type errors)."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        return str(value)
    return value


class InProcessModuleAction(ActionBase):
    """Base of the keyguard.aws action plugins; a subclass names its module in ``module_name`` and the module_utils
    file of its task in ``task_module``.

    The task module provides ``ARGUMENT_SPEC``, ``ARGUMENT_RULES`` (the validator's other options) and
    ``run(params, check_mode, diff, client_factory)``, the module's logic.
    """

    _VALID_ARGS = frozenset()  # validated below with the module's own argument spec
    module_name = ""
    task_module = ""

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        _TO_PRELOAD.add(task_import_name(cls.task_module))

    def run(self, tmp: str | None = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        reason = self.module_path_reason(task_vars)
        if reason is not None:
            self._display.vvv(f"{self.module_name}: running the module ({reason})")
            module_result = self._execute_module(
                module_name=self.module_name, module_args=self._task.args, task_vars=task_vars
            )
            return merge_hash(result, module_result)
        self._display.vvv(f"{self.module_name}: running in-process on the controller")
        return merge_hash(result, self.run_in_process())

    def module_path_reason(self, task_vars: dict[str, t.Any]) -> str | None:
        """Why the task must run as a module, or None when it can run in-process."""
        setting = task_vars.get(IN_PROCESS_VARIABLE, os.environ.get(IN_PROCESS_ENVIRONMENT, True))
        if not boolean(setting, strict=False):
            return f"{IN_PROCESS_VARIABLE} is false"
        connection = getattr(self._connection, "_load_name", None) or getattr(self._connection, "transport", None)
        if connection not in LOCAL_CONNECTIONS:
            return f"the connection is {connection}, not local"
        if self._task.async_val:
            return "the task is async"
        if self._task.become:
            return "the task uses become"
        if any(self._task.environment or []):
            return "the task sets environment variables"
        reason = self.interpreter_reason(task_vars)
        if reason is not None:
            return reason
        aws = aws_utils()
        try:
            aws.require_sdk()
        except aws.AwsError as exc:
            return str(exc)
        return None

    def interpreter_reason(self, task_vars: dict[str, t.Any]) -> str | None:
        """The task's Python interpreter as Ansible would choose it (ansible_python_interpreter, else the
        interpreter_python setting), when it is not the controller's own: the user chose its SDK."""
        configured = C.config.get_config_value("INTERPRETER_PYTHON", variables=task_vars)
        try:
            interpreter = self._templar.template(configured) if isinstance(configured, str) else configured
        except Exception as exc:  # the module path templates it again and reports the error in its own words
            return f"ansible_python_interpreter could not be templated here ({type(exc).__name__})"
        return foreign_interpreter_reason(interpreter, task_vars.get("ansible_playbook_python"))

    def run_in_process(self) -> dict[str, t.Any]:
        _RAN_IN_PROCESS[0] = 1
        aws = aws_utils()
        task = importlib.import_module(task_import_name(self.task_module))
        validation = ArgumentSpecValidator(task.ARGUMENT_SPEC, **task.ARGUMENT_RULES).validate(_plain(self._task.args))
        no_log_values = validation._no_log_values
        if validation.error_messages:
            msg = validation.errors.msg
            if isinstance(validation.errors[0], UnsupportedError):  # worded as AnsibleModule words it
                msg = f"Unsupported parameters for ({self.module_name}) module: {msg}"
            return remove_values({"failed": True, "msg": msg}, no_log_values)
        params = validation.validated_parameters
        try:
            result = task.run(params, bool(self._task.check_mode), bool(self._task.diff), cached_client)
        except aws.AwsError as exc:
            result = {"failed": True, "msg": exc.message, **exc.result}
        result["invocation"] = {"module_args": params}
        warnings = [self._warn_text(warning) for warning in validation._warnings] + result.pop("warnings", [])
        if warnings:
            result["warnings"] = warnings
        return remove_values(result, no_log_values)

    @staticmethod
    def _warn_text(warning: t.Any) -> str:
        if isinstance(warning, dict) and "option" in warning:
            return f"Both option {warning['option']} and its alias {warning['alias']} are set."
        return str(warning)
