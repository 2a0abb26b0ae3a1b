# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a task's logic as a task does: options through ArgumentSpecValidator with the task's spec and rules, then
run() with a client factory (the given client for every service, or the collection's own factory)."""

from __future__ import annotations

import typing as t

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.keyguard.aws.plugins.module_utils import _key_task, _report_task
from ansible_collections.keyguard.aws.plugins.module_utils._aws import AwsError, aws_client

# The IAM calls that change something.
WRITE_OPERATIONS = frozenset({"CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey", "TagUser", "UntagUser"})


def validated(task: t.Any, params: dict[str, t.Any]) -> dict[str, t.Any]:
    """The options as the module would receive them; the validator's message as an AwsError if they are bad."""
    result = ArgumentSpecValidator(task.ARGUMENT_SPEC, **task.ARGUMENT_RULES).validate(params)
    if result.error_messages:
        raise AwsError(result.errors.msg)
    return result.validated_parameters


def factory_for(client: t.Any | None) -> t.Callable[..., t.Any]:
    if client is None:
        return aws_client
    return lambda service, **kwargs: client


def ensure_access_keys(
    params: dict[str, t.Any], check_mode: bool = False, client: t.Any = None, diff: bool = True
) -> dict[str, t.Any]:
    """An iam_access_key task (with --diff unless diff=False)."""
    return _key_task.run(validated(_key_task, params), check_mode, diff, factory_for(client))


def report_access_keys(params: dict[str, t.Any], client: t.Any = None, check_mode: bool = False) -> dict[str, t.Any]:
    """An iam_access_key_info task."""
    return _report_task.run(validated(_report_task, params), check_mode, False, factory_for(client))


def key_request(params: dict[str, t.Any]) -> t.Any:
    """The KeyRequest an iam_access_key task with these options plans with."""
    return _key_task.KeyRequest.from_params(validated(_key_task, params))


def report_request(params: dict[str, t.Any]) -> t.Any:
    """The ReportRequest an iam_access_key_info task with these options collects with."""
    return _report_task.ReportRequest.from_params(validated(_report_task, params))
