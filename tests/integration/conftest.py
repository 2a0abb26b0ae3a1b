# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Integration harness: a moto server with a movable clock, a recording proxy, and ansible-playbook.

Fixtures (see each docstring):

- ``moto_server`` (session): the moto server process; ``.url``, ``.pid``, clock helpers, ``.reset()``.
- ``moto`` (function): the same object, after resetting moto's state and clock for this test.
- ``proxy`` (function): an ``IamProxy`` in front of moto; tests and playbooks talk through it.
- ``iam`` (function): boto3 IAM client straight to moto (not recorded, never faulted).
- ``proxy_iam`` (function): boto3 IAM client through the proxy (recorded, faultable, no retries).
- ``iam_client_factory``: ``make_iam_client(endpoint_url, access_key, secret_key, **botocore_config)``.
- ``run_playbook`` (function): run tasks with the real ``ansible-playbook`` against the proxy.
- ``new_playbook_runner`` (session): ``new_playbook_runner(endpoint_url)`` makes a runner for a module fixture.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

try:
    from _pytest.nodeid import coerce_node_id  # pytest >= 9
except ImportError:  # pragma: no cover
    coerce_node_id = None

# tests/tools/*.py are top-level modules; tests/conftest.py puts the folder on sys.path, and so does this file, for a
# pytest run started inside tests/integration (whose rootdir is then below tests/conftest.py).
TOOLS_DIR = str(Path(__file__).resolve().parents[1] / "tools")
if TOOLS_DIR not in sys.path:
    sys.path.insert(0, TOOLS_DIR)
ansible_env = importlib.import_module("ansible_env")
aws_clients = importlib.import_module("aws_clients")
iam_proxy = importlib.import_module("iam_proxy")
moto_control = importlib.import_module("moto_control")

REPO_ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_BIN_DIR = Path(sys.executable).parent
ACTION_GROUP = "group/keyguard.aws.aws"
PLAYBOOK_TIMEOUT = 300.0
UTC = datetime.timezone.utc
# Which way local tasks run the keyguard.aws modules: "in_process" (the action plugins' default for
# local tasks) or "module" (a separate Python process per task, as on a remote host). `make integration`
# runs the suite both ways.
EXECUTION_PATH = os.environ.get("KEYGUARD_TEST_EXECUTION", "in_process")
COLLECTIONS_ROOT = ansible_env.COLLECTIONS_ROOT
AWS_REGION = ansible_env.REGION
DUMMY_ACCESS_KEY = ansible_env.DUMMY_ACCESS_KEY
DUMMY_SECRET_KEY = ansible_env.DUMMY_SECRET_KEY
ensure_collection_link = ansible_env.ensure_collection_link
IamProxy = iam_proxy.IamProxy
MotoServer = moto_control.MotoServer
start_moto_server = moto_control.start_moto_server
stop_process = moto_control.stop_process


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Make ``--dist loadgroup`` keep an ``xdist_group`` on one worker again.

    pytest-xdist 3.8 marks a grouped test by appending ``@<group>`` to ``item._nodeid``, which pytest 9 no longer
    reads (the node id lives in ``item._id``): every group was spread over the workers, and each worker ran the group's
    module fixture (test_bad_input's three playbooks ran on both). This does what xdist means through the attribute
    pytest reads; where xdist's own suffix took effect, it leaves the node id alone.
    """
    if not getattr(config.option, "loadgroup", False):  # set in xdist workers run with --dist loadgroup
        return
    for item in items:
        marks = item.iter_markers("xdist_group")
        names = sorted({str(mark.args[0] if mark.args else mark.kwargs.get("name", "default")) for mark in marks})
        if not names or item.nodeid.rfind("@") > item.nodeid.rfind("]"):
            continue
        grouped = f"{item.nodeid}@{'_'.join(names)}"
        if hasattr(item, "_id"):  # pytest >= 9
            item._id = coerce_node_id(grouped)
        else:
            item._nodeid = grouped


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """The moto server process, started once per session on a free port of 127.0.0.1."""
    server = start_moto_server(tmp_path_factory.mktemp("moto_server"))
    try:
        yield server
    finally:
        stop_process(server.process)


@pytest.fixture
def moto(moto_server: MotoServer) -> MotoServer:
    """``moto_server`` with empty state and an unshifted clock for this test."""
    if not moto_server.is_running():
        pytest.fail(f"moto server died; log:\n{moto_server.log_tail()}")
    moto_server.reset()
    return moto_server


# --------------------------------------------------------------------------------------------
# proxy and boto3 clients
# --------------------------------------------------------------------------------------------


@pytest.fixture
def proxy(moto: MotoServer) -> Iterator[Any]:
    """An ``IamProxy`` (tests/tools/iam_proxy.py) in front of the freshly reset moto server."""
    instance = IamProxy(moto.url, seed=0)
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


def make_iam_client(
    endpoint_url: str, access_key: str = DUMMY_ACCESS_KEY, secret_key: str = DUMMY_SECRET_KEY, **config: Any
):
    """A boto3 IAM client for ``endpoint_url`` (us-east-1, dummy credentials unless given): tests/tools/aws_clients.py.

    ``config`` goes to ``botocore.config.Config``, e.g. ``retries={"mode": "standard", "total_max_attempts": 5}``
    (botocore's ``max_attempts`` there counts retries, not attempts).
    """
    return aws_clients.iam_client(endpoint_url, access_key, secret_key, **config)


@pytest.fixture
def iam_client_factory():
    """``make_iam_client(endpoint_url, access_key=..., secret_key=..., **botocore_config)``."""
    return make_iam_client


@pytest.fixture
def iam(moto: MotoServer):
    """boto3 IAM client talking to moto directly: for arranging and checking state.

    Its calls are not recorded by ``proxy`` and never get its faults.
    """
    return make_iam_client(moto.url)


@pytest.fixture
def proxy_iam(proxy):
    """boto3 IAM client talking through ``proxy`` (recorded; faults apply). No retries."""
    return make_iam_client(proxy.url, retries={"total_max_attempts": 1, "mode": "standard"})


# --------------------------------------------------------------------------------------------
# ansible-playbook
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class PlaybookResult:
    """What one ``ansible-playbook`` run produced.

    ``results`` holds one record per task result, in order::

        {"task": str, "action": str, "resolved_action": str | None, "host": str,
         "status": "ok" | "changed" | "failed" | "skipped" | "unreachable",
         "ignore_errors": bool, "check_mode": bool,
         "result": {...the module's result, with "changed", "failed", "skipped" always set...}}
    """

    rc: int
    stdout: str
    stderr: str
    results: list[dict[str, Any]]
    stats: dict[str, dict[str, int]]
    playbook: Path
    command: list[str]
    duration: float

    def records(self, name: str) -> list[dict[str, Any]]:
        """Every record of the task called ``name`` (several when it ran more than once)."""
        return [record for record in self.results if record["task"] == name]

    def record(self, name: str) -> dict[str, Any]:
        """The record of task ``name``; fails when it did not run or ran more than once."""
        found = self.records(name)
        if len(found) != 1:
            names = [record["task"] for record in self.results]
            raise KeyError(f"task {name!r} ran {len(found)} times; tasks that ran: {names}\n{self.summary()}")
        return found[0]

    def task(self, name: str) -> dict[str, Any]:
        """The module result of task ``name``: ``changed``/``failed``/``msg``/``warnings``/``diff``..."""
        return self.record(name)["result"]

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def summary(self, lines: int = 60) -> str:
        """rc, then the tail of stdout and stderr: a readable assertion message."""
        out = "\n".join(self.stdout.splitlines()[-lines:])
        err = "\n".join(self.stderr.splitlines()[-lines:])
        return f"ansible-playbook rc={self.rc}\n--- stdout ---\n{out}\n--- stderr ---\n{err}"


def _base_env(tmp: Path, endpoint_url: str, results_file: Path) -> dict[str, str]:
    """tests/tools/ansible_env.py's environment, plus what only the tests need."""
    env = ansible_env.playbook_environment(tmp, ANSIBLE_BIN_DIR, [COLLECTIONS_ROOT], endpoint_url, results_file)
    env.update(
        {
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_DEPRECATION_WARNINGS": "True",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    if EXECUTION_PATH == "module":
        env["KEYGUARD_AWS_IN_PROCESS"] = "0"
    return env


def _as_plays(playbook: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A list of plays from a playbook YAML string, a list of plays, or a list of tasks."""
    data = yaml.safe_load(playbook) if isinstance(playbook, str) else playbook
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise TypeError("expected a list of tasks or plays (or YAML for one)")
    if data and all("hosts" in item or "import_playbook" in item for item in data):
        return [dict(play) for play in data]
    return [{"name": "test", "hosts": "localhost", "gather_facts": False, "tasks": list(data)}]


class PlaybookRunner:
    """The ``run_playbook`` fixture: call it to run one playbook (see ``__call__``)."""

    def __init__(self, tmp_path: Path, endpoint_url: str):
        self.tmp_path = tmp_path
        self.endpoint_url = endpoint_url
        self.runs: list[PlaybookResult] = []

    def aws_defaults(self, endpoint_url: str | None = None) -> dict[str, Any]:
        """The connection options put in module_defaults for the keyguard.aws action group."""
        return {
            "endpoint_url": endpoint_url or self.endpoint_url,
            "access_key": DUMMY_ACCESS_KEY,
            "secret_key": DUMMY_SECRET_KEY,
            "region": AWS_REGION,
        }

    def __call__(
        self,
        playbook: str | list[dict[str, Any]],
        *,
        check: bool = False,
        diff: bool = False,
        extra_vars: Mapping[str, Any] | None = None,
        env: Mapping[str, str | None] | None = None,
        verbosity: int = 0,
        module_defaults: bool | Mapping[str, Any] = True,
        endpoint_url: str | None = None,
        extra_args: list[str] | tuple[str, ...] = (),
        timeout: float = PLAYBOOK_TIMEOUT,
    ) -> PlaybookResult:
        """Run ``ansible-playbook`` on localhost and return a :class:`PlaybookResult`.

        ``playbook``: a list of task dicts (wrapped into one play on localhost, no fact gathering),
        or a list of plays, or the YAML of either. Plays run with ``connection: local``.
        ``module_defaults``: True adds ``group/keyguard.aws.aws: {endpoint_url: <proxy>, access_key,
        secret_key, region}`` to every play; a mapping is merged over those values; False adds
        nothing. ``endpoint_url`` overrides the proxy URL (e.g. ``moto.url`` to bypass the proxy).
        ``env``: extra environment; a value of None removes that variable.
        The run does not fail the test by itself: check ``.rc`` (``.summary()`` explains).
        """
        ensure_collection_link()
        index = len(self.runs) + 1
        workdir = self.tmp_path / f"playbook-{index}"
        workdir.mkdir(parents=True)
        results_file = workdir / "results.jsonl"
        endpoint = endpoint_url or self.endpoint_url

        plays = _as_plays(playbook)
        if module_defaults:
            defaults = self.aws_defaults(endpoint)
            if isinstance(module_defaults, Mapping):
                defaults.update(module_defaults)
            for play in plays:
                if "hosts" not in play:
                    continue
                merged = dict(play.get("module_defaults") or {})
                merged[ACTION_GROUP] = {**defaults, **(merged.get(ACTION_GROUP) or {})}
                play["module_defaults"] = merged
        for play in plays:
            if "hosts" in play:
                play.setdefault("connection", "local")
                play.setdefault("gather_facts", False)

        playbook_path = workdir / "playbook.yml"
        playbook_path.write_text(yaml.safe_dump(plays, sort_keys=False), encoding="utf-8")
        inventory = workdir / "inventory.ini"
        inventory.write_text(
            f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n", encoding="utf-8"
        )

        run_env = _base_env(workdir, endpoint, results_file)
        for key, value in (env or {}).items():
            if value is None:
                run_env.pop(key, None)
            else:
                run_env[key] = str(value)

        command = [str(ANSIBLE_BIN_DIR / "ansible-playbook"), "-i", str(inventory), str(playbook_path)]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        if extra_vars:
            vars_file = workdir / "extra_vars.json"
            vars_file.write_text(json.dumps(dict(extra_vars)), encoding="utf-8")
            command += ["--extra-vars", f"@{vars_file}"]
        if verbosity:
            command.append("-" + "v" * verbosity)
        command += list(extra_args)

        started = time.monotonic()
        completed = subprocess.run(
            command,
            cwd=workdir,
            env=run_env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        duration = time.monotonic() - started

        records: list[dict[str, Any]] = []
        stats: dict[str, dict[str, int]] = {}
        if results_file.exists():
            for line in results_file.read_text(encoding="utf-8").splitlines():
                event = json.loads(line)
                if event.pop("event") == "stats":
                    stats = event["stats"]
                else:
                    records.append(event)
        result = PlaybookResult(
            rc=completed.returncode,
            stdout=completed.stdout,
            stderr=completed.stderr,
            results=records,
            stats=stats,
            playbook=playbook_path,
            command=command,
            duration=duration,
        )
        self.runs.append(result)
        return result


@pytest.fixture
def run_playbook(tmp_path: Path, proxy) -> PlaybookRunner:
    """Callable running ``ansible-playbook``; AWS calls go through ``proxy`` to a reset moto."""
    return PlaybookRunner(tmp_path, proxy.url)


@pytest.fixture(scope="session")
def new_playbook_runner(tmp_path_factory: pytest.TempPathFactory):
    """``new_playbook_runner(endpoint_url)``: a fresh :class:`PlaybookRunner` for a fixture wider than one test
    (a module fixture that runs many cases in one playbook, with a proxy of its own)."""

    def make(endpoint_url: str) -> PlaybookRunner:
        return PlaybookRunner(tmp_path_factory.mktemp("playbooks"), endpoint_url)

    return make
