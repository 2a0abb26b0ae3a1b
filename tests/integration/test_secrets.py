# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import re
import secrets
import string
from pathlib import Path
from typing import Any

import ansible.release
import pytest
from _faults_helpers import INFO_MODULE, MODULE, PATHS, Hooks, moto_keys

# Secret hygiene (issue 5): the main flows run once per execution path with -vvv, --diff and Ansible's log file
# (ANSIBLE_LOG_PATH, at the same verbosity). Every byte of stdout, stderr, the log file, the harness's result file and
# anything left under the run's Ansible home and temp directories is searched for every secret access key IAM made
# and for every secret input (secret_key, session_token: options, module_defaults and environment fallbacks). A created
# secret may appear only as the value of "secret_access_key" in the output of the task that created it, and nowhere
# at all when that task has no_log: true. A secret input may appear nowhere.
#
# Not captured: logging by modules on the target goes to syslog/journald, unavailable here (the modules run on the
# controller; AnsibleModule masks no_log options there too). ANSIBLE_DEBUG is not used: Ansible documents that its
# debug output can include secrets despite no_log. ANSIBLE_KEEP_REMOTE_FILES is not used either.

ANSIBLE_VERSION = tuple(int(part) for part in ansible.release.__version__.split(".")[:2])
ALPHABET = string.ascii_letters + string.digits + "+/"


def random_secret(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _index in range(length))


USERS = ("alice", "bob", "carol", "dave")
TEAM_TAG = {"Key": "team", "Value": "payments"}
# Files the test itself writes with the inputs in them: not output
INPUT_FILES = frozenset({"playbook.yml", "extra_vars.json"})
SHOWN = re.compile(r'"secret_access_key":\s*"$')
TASK_HEADER = re.compile(r"^(?:.*\| )?TASK \[(?P<name>[^\]]*)\]", re.MULTILINE)


def flows(hooks: Hooks) -> list[dict[str, Any]]:
    explicit = {"secret_key": "{{ secret_in }}", "session_token": "{{ token_in }}"}
    from_environment = {"access_key": None, "secret_key": None, "session_token": None}
    return [
        {"name": "create, shown", MODULE: {"user_name": "alice", "state": "active"}, "no_log": False},
        {"name": "create, no_log", MODULE: {"user_name": "bob", "state": "active"}, "no_log": True},
        {"name": "create again, no_log", MODULE: {"user_name": "bob", "state": "active"}, "no_log": True},
        # moto's clock moves 2 days before this one
        {
            "name": "rotate, shown",
            MODULE: {"user_name": "alice", "state": "active", "rotate_after_days": 1, "previous_keys": "delete"},
        },
        {
            "name": "rotate, no_log",
            MODULE: {"user_name": "bob", "state": "active", "rotate_after_days": 1, "previous_keys": "deactivate"},
            "no_log": True,
        },
        {"name": "info, one user", INFO_MODULE: {"user_name": "alice", **explicit}},
        {"name": "info, account, environment credentials", INFO_MODULE: from_environment},
        {
            "name": "fails: no such user, secret inputs",
            MODULE: {"user_name": "ghost", "state": "active", **explicit},
            "ignore_errors": True,
        },
        {
            "name": "fails: bad option, secret inputs",
            MODULE: {"user_name": "alice", "state": "on", **explicit},
            "ignore_errors": True,
        },
        {
            "name": "fails: profile and keys, secret inputs",
            MODULE: {"user_name": "alice", "profile": "audit", **explicit},
            "ignore_errors": True,
        },
        {
            "name": "fails, no_log: no such user, secret inputs",
            MODULE: {"user_name": "ghost", "state": "active", **explicit},
            "no_log": True,
            "ignore_errors": True,
        },
        {
            "name": "fails: environment credentials, no such user",
            INFO_MODULE: {"user_name": "ghost", **from_environment},
            "ignore_errors": True,
        },
        # TagUser fails after the key was made: the task deletes the key again, its secret never shown
        {
            "name": "fails after create, withdrawn",
            MODULE: {"user_name": "dave", "description": "ci", "state": "active"},
            "ignore_errors": True,
        },
        # TagUser fails after the key was made, and so does deleting it: the task fails and hands back the secret
        {
            "name": "fails after create, shown",
            MODULE: {"user_name": "carol", "description": "ci", "state": "active"},
            "ignore_errors": True,
        },
        {
            "name": "delete, secret inputs",
            MODULE: {"user_name": "alice", "state": "absent", **explicit},
        },
    ]


def captured(workdir: Path, result) -> dict[str, str]:
    """Every byte the run produced: stdout, stderr, and each file under its directory but the test's inputs."""
    blobs = {"stdout": result.stdout, "stderr": result.stderr}
    for path in sorted(workdir.rglob("*")):
        if path.is_file() and path.name not in INPUT_FILES:
            blobs[str(path.relative_to(workdir))] = path.read_text(encoding="utf-8", errors="replace")
    return blobs


def task_at(blob_name: str, text: str, position: int) -> str | None:
    """The task whose output holds ``position``: the record's task in the JSON-lines result file, else the last
    ``TASK [...]`` header before it (stdout, and the log file whose lines carry a prefix)."""
    if blob_name.endswith("results.jsonl"):
        line = text[text.rfind("\n", 0, position) + 1 : text.find("\n", position)]
        match = re.search(r'"task": "([^"]*)"', line)
        return match.group(1) if match else None
    headers = [match for match in TASK_HEADER.finditer(text) if match.start() < position]
    return headers[-1].group("name") if headers else None


def leaks(blobs: dict[str, str], value: str, allowed_task: str | None) -> list[str]:
    """Where ``value`` appears other than as "secret_access_key" in the output of ``allowed_task``."""
    found = []
    for name, text in blobs.items():
        for match in re.finditer(re.escape(value), text):
            task = task_at(name, text, match.start())
            shown = SHOWN.search(text[max(0, match.start() - 40) : match.start()]) is not None
            if allowed_task is None or not shown or task != allowed_task:
                context = text[max(0, match.start() - 80) : match.start()].replace("\n", "\\n")
                found.append(f"{name} (task {task!r}): ...{context}<SECRET>")
    return found


@pytest.mark.parametrize("path", PATHS)
def test_no_secret_leaks(path, run_playbook, proxy, moto, iam):
    for user in USERS:
        iam.create_user(UserName=user, Tags=[TEAM_TAG])
    inputs = {
        "secret_in": random_secret(40),  # module_defaults and explicit task options
        "token_in": random_secret(300),
    }
    environment = {
        "AWS_ACCESS_KEY_ID": "AKIA" + random_secret(16).upper().replace("+", "A").replace("/", "B"),
        "AWS_SECRET_ACCESS_KEY": random_secret(40),  # environment fallbacks
        "AWS_SESSION_TOKEN": random_secret(300),
    }
    workdir = run_playbook.tmp_path / f"playbook-{len(run_playbook.runs) + 1}"  # the directory of the coming run
    log_file = workdir / "ansible.log"

    def fail(*actions: str):
        def arm():
            proxy.clear_faults()
            for action in actions:
                proxy.add_fault("service_failure", action=action)

        return arm

    before = {
        "rotate, shown": lambda: moto.advance(days=2),
        "fails after create, withdrawn": fail("TagUser"),
        "fails after create, shown": fail("TagUser", "DeleteAccessKey"),
        "delete, secret inputs": proxy.clear_faults,
    }
    with Hooks(proxy, iam, USERS) as hooks:
        result = run_playbook(
            hooks.around(flows(hooks), before=before),
            module_defaults={"secret_key": "{{ secret_in }}", "session_token": "{{ token_in }}"},
            extra_vars=inputs,
            verbosity=3,
            diff=True,
            env={
                **PATHS[path],
                **environment,
                "ANSIBLE_LOG_PATH": str(log_file),
                "ANSIBLE_LOG_VERBOSITY": "3",
            },
        )
    assert result.rc == 0, result.summary()
    assert hooks.errors == []

    # the flows did what they should (so there were secrets to leak)
    shown = {}
    for name in ("create, shown", "rotate, shown", "fails after create, shown"):
        outcome = result.task(name)
        assert outcome["actions"][-1]["action"] in ("create", "delete"), (name, outcome)
        shown[outcome["secret_access_key"]] = name
    assert result.task("fails after create, shown")["failed"] is True
    withdrawn = result.task("fails after create, withdrawn")
    assert withdrawn["failed"] is True
    assert [action["action"] for action in withdrawn["actions"]] == ["create", "delete"]
    assert "secret_access_key" not in withdrawn
    for name in ("create, no_log", "rotate, no_log"):
        assert result.record(name)["status"] == "changed", name
        assert "secret_access_key" not in result.task(name), name
    for name in (
        "fails: no such user, secret inputs",
        "fails: bad option, secret inputs",
        "fails: profile and keys, secret inputs",
        "fails: environment credentials, no such user",
        "fails, no_log: no such user, secret inputs",
    ):
        assert result.task(name)["failed"] is True, name
    # What no_log does not hide: ansible-core 2.19 and later print a failed task's msg on its [ERROR] line (the
    # README says so). Our messages carry no secret; the leak search below covers that line too.
    section = result.stdout.split("TASK [fails, no_log: no such user, secret inputs]", 1)[1].split("TASK [", 1)[0]
    assert "the output has been hidden due to the fact that 'no_log: true' was specified" in section, section
    error_line = re.search(r"^\[ERROR\]: .*IAM user ghost does not exist$", section, re.MULTILINE)
    assert (error_line is not None) is (ANSIBLE_VERSION >= (2, 19)), section
    assert result.task("info, account, environment credentials")["count"] == 3
    made = moto_keys(moto)
    assert len(made) == 6  # alice: 2, bob: 2, carol: 1, dave: 1 (deleted again)
    hidden = [key["secret"] for key in made.values() if key["secret"] not in shown]
    assert len(hidden) == 3  # bob's two keys, made by no_log tasks, and dave's, deleted before it was shown

    blobs = captured(workdir, result)
    log = blobs.get("ansible.log", "")
    # the capture works: the log file has the -vvv output, and the path is the one asked for
    marker = {
        "in-process": "keyguard.aws.iam_access_key: running in-process on the controller",
        "module": "keyguard.aws.iam_access_key: running the module (keyguard_aws_in_process is false)",
    }[path]
    assert marker in result.stdout and marker in log
    assert "TASK [rotate, shown]" in log and "TASK [rotate, shown]" in result.stdout
    for secret, name in shown.items():  # shown where allowed: the search does see task results
        for blob in ("stdout", "ansible.log", "results.jsonl"):
            assert secret in blobs[blob], (name, blob)

    problems = []
    for secret, name in shown.items():
        problems += [f"secret of {name!r}: {where}" for where in leaks(blobs, secret, name)]
    for secret in hidden:
        problems += [f"secret of a no_log task: {where}" for where in leaks(blobs, secret, None)]
    for label, value in [*inputs.items(), *environment.items()]:
        if label == "AWS_ACCESS_KEY_ID":
            continue  # an access key id is not a secret
        problems += [f"input {label}: {where}" for where in leaks(blobs, value, None)]
    assert problems == [], f"{len(problems)} leaks in {sorted(blobs)}:\n" + "\n".join(problems)
