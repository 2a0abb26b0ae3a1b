# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark harness: moto_server behind the call-counting proxy, and measured process runs.

Every measured run is one process (``ansible-playbook`` or a plain Python script) started by
benchmarks/launch.py, which reports its wall time, exit status, CPU time and peak memory from
``os.wait4``: ``ru_maxrss`` is the largest resident set of any process in the command's tree that
was waited for (the playbook process, its forked workers and the module processes they start).
The IAM calls of a run are the calls the proxy recorded while it ran; nothing else talks to the
proxy meanwhile (seeding goes to moto directly).
"""

from __future__ import annotations

import collections
import dataclasses
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
TOOLS_DIR = REPO_ROOT / "tests" / "tools"
LAUNCHER = Path(__file__).resolve().parent / "launch.py"
WRITE_ACTIONS = frozenset(
    {"CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey", "TagUser", "UntagUser", "CreateUser", "DeleteUser"}
)
RUN_TIMEOUT = 900.0


def load_tool(name: str) -> Any:
    """Import tests/tools/<name>.py (tests/ is not a package), once."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, TOOLS_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


ansible_env = load_tool("ansible_env")
COLLECTIONS_ROOT = ansible_env.COLLECTIONS_ROOT
REGION = ansible_env.REGION
DUMMY_ACCESS_KEY = ansible_env.DUMMY_ACCESS_KEY
DUMMY_SECRET_KEY = ansible_env.DUMMY_SECRET_KEY


@dataclasses.dataclass(frozen=True)
class PythonEnv:
    """A virtualenv whose ``ansible-playbook`` and ``python`` run the measured processes."""

    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"

    def query(self, code: str) -> str:
        completed = subprocess.run(
            [str(self.python), "-c", code], capture_output=True, text=True, timeout=120, check=False
        )
        return completed.stdout.strip() if completed.returncode == 0 else ""

    @classmethod
    def from_argument(cls, path: Path) -> PythonEnv:
        """The venv a benchmark's --ansible-venv names (relative to the checkout)."""
        return cls(path.resolve() if path.is_absolute() else REPO_ROOT / path)

    def purelib(self) -> Path:
        return Path(
            self.query("import sysconfig; print(sysconfig.get_paths()['purelib'])") or sysconfig.get_paths()["purelib"]
        )

    def version_of(self, distribution: str) -> str:
        return self.query(f"import importlib.metadata as m; print(m.version({distribution!r}))") or "not installed"

    def collection_version(self, namespace: str, name: str) -> str:
        manifest = self.purelib() / "ansible_collections" / namespace / name / "MANIFEST.json"
        try:
            return json.loads(manifest.read_text(encoding="utf-8"))["collection_info"]["version"]
        except (OSError, ValueError, KeyError):
            return "not installed"


@dataclasses.dataclass
class Measurement:
    """One measured run."""

    wall: float
    cpu: float  # user + system seconds of the process tree
    peak_rss_kib: int
    returncode: int
    calls: collections.Counter
    records: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    output: Any = None  # parsed stdout JSON of a script run
    error: str | None = None  # why the run does not count, if it does not
    workdir: Path | None = None
    round_index: int | None = None  # the scenario round it was measured in (see run.run_scenario)
    throttled: int = 0  # calls answered Throttling (the proxy's rate limit, see benchmarks/latency.py)
    logical_calls: int = 0  # the SDK's calls, each attempt of one call counted once; total_calls - this = retries
    server_cpu: float = 0.0  # CPU seconds moto_server and the proxy (this process) used during the run

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def writes(self) -> int:
        return sum(count for action, count in self.calls.items() if action in WRITE_ACTIONS)


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    """This process's CPU seconds so far: while a measured command runs, only the proxy's threads work here."""
    usage = os.times()
    return usage.user + usage.system


def measure_process(
    command: list[str], cwd: Path, env: dict[str, str], timeout: float
) -> tuple[int, float, float, int]:
    """Run ``command`` through benchmarks/launch.py; return (exit code, wall seconds, CPU seconds, peak RSS KiB).

    The command runs in a new session, so a timeout or an interrupt ends its whole process group.
    """
    result_path = cwd / "launch.json"
    with open(cwd / "stdout.txt", "wb") as out, open(cwd / "stderr.txt", "wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, str(LAUNCHER), str(result_path), *command],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )

        def kill_group() -> None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill_group)
        timer.start()
        try:
            process.wait()
        except BaseException:  # interrupted: leave no playbook running behind
            kill_group()
            process.wait()
            raise
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
    try:
        measured = json.loads(result_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # killed before it could write: a timeout
        return process.returncode or -signal.SIGKILL, wall, 0.0, 0
    return measured["returncode"], measured["wall"], measured["cpu"], measured["peak_rss_kib"]


class Runner:
    """Runs playbooks and scripts with one virtualenv, against ``endpoint_url`` (the proxy)."""

    def __init__(self, env: PythonEnv, workroot: Path, endpoint_url: str, proxy: Any, extra_collections: list[Path]):
        self.env = env
        self.workroot = workroot
        self.endpoint_url = endpoint_url
        self.proxy = proxy
        self.collections_path = [COLLECTIONS_ROOT, *extra_collections]
        self.count = 0
        self.keep_workdirs = False
        self.server_pid: int | None = None  # moto_server's, to count its CPU time (and the proxy's) in each run

    def server_cpu(self) -> float:
        return (process_cpu(self.server_pid) if self.server_pid else 0.0) + own_cpu()

    def new_workdir(self, name: str) -> Path:
        self.count += 1
        workdir = self.workroot / f"{self.count:04d}-{name}"
        workdir.mkdir(parents=True)
        return workdir

    def environment(self, workdir: Path) -> dict[str, str]:
        """tests/tools/ansible_env.py's environment, with this venv's ansible and collections."""
        return ansible_env.playbook_environment(
            workdir, self.env.bin_dir, self.collections_path, self.endpoint_url, workdir / "results.jsonl"
        )

    def measure(self, command: list[str], workdir: Path, env: dict[str, str]) -> Measurement:
        """Run ``command`` in ``workdir`` with ``env``; its wall and CPU time, moto's and the proxy's CPU, its calls."""
        self.proxy.reset_calls()
        server_before = self.server_cpu()
        measurement = self._finish(workdir, measure_process(command, workdir, env, RUN_TIMEOUT))
        measurement.server_cpu = self.server_cpu() - server_before
        return measurement

    def _finish(self, workdir: Path, measured: tuple[int, float, float, int]) -> Measurement:
        returncode, wall, cpu, rss = measured
        calls = collections.Counter(call.action for call in self.proxy.calls)
        measurement = Measurement(
            wall=wall,
            cpu=cpu,
            peak_rss_kib=rss,
            returncode=returncode,
            calls=calls,
            workdir=workdir,
            throttled=self.proxy.throttled(),
            logical_calls=self.proxy.logical_calls(),
        )
        if returncode != 0:
            stderr = (workdir / "stderr.txt").read_text(encoding="utf-8", errors="replace")[-2000:]
            stdout = (workdir / "stdout.txt").read_text(encoding="utf-8", errors="replace")[-3000:]
            measurement.error = f"exit {returncode} (workdir {workdir})\n{stdout}\n{stderr}"
        return measurement

    def cleanup(self, measurement: Measurement) -> None:
        if measurement.error is None and not self.keep_workdirs and measurement.workdir is not None:
            shutil.rmtree(measurement.workdir, ignore_errors=True)

    def playbook(
        self,
        name: str,
        plays: list[dict[str, Any]],
        extra_vars: dict[str, Any] | None = None,
        extra_args: list[str] | tuple[str, ...] = (),
    ) -> Measurement:
        """Run ``plays`` on localhost (local connection, this venv's Python) and measure it."""
        ansible_env.ensure_collection_link()
        workdir = self.new_workdir(name)
        playbook = workdir / "playbook.yml"
        playbook.write_text(yaml.safe_dump(plays, sort_keys=False), encoding="utf-8")
        inventory = workdir / "inventory.ini"
        inventory.write_text(
            f"localhost ansible_connection=local ansible_python_interpreter={self.env.python}\n", encoding="utf-8"
        )
        command = [str(self.env.bin_dir / "ansible-playbook"), "-i", str(inventory), str(playbook)]
        if extra_vars:
            vars_file = workdir / "extra_vars.json"
            vars_file.write_text(json.dumps(extra_vars), encoding="utf-8")
            command += ["--extra-vars", f"@{vars_file}"]
        command += list(extra_args)
        measurement = self.measure(command, workdir, self.environment(workdir))
        results = workdir / "results.jsonl"
        if results.exists():
            for line in results.read_text(encoding="utf-8").splitlines():
                event = json.loads(line)
                if event.pop("event") == "task":
                    measurement.records.append(event)
        return measurement

    def script(self, name: str, script: Path, args: list[str]) -> Measurement:
        """Run a Python script with this venv's interpreter and measure it; its stdout is JSON."""
        workdir = self.new_workdir(name)
        command = [str(self.env.python), str(script), *args]
        measurement = self.measure(command, workdir, self.environment(workdir))
        if measurement.returncode == 0:
            try:
                measurement.output = json.loads((workdir / "stdout.txt").read_text(encoding="utf-8"))
            except ValueError as exc:
                measurement.error = f"script output is not JSON: {exc}"
        return measurement


def make_args(argv: list[str]) -> list[str]:
    """The arguments beyond the two that the ``make bench-*`` targets always pass (to name the command to re-run)."""
    extra, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--ansible-venv", "--write-results"):
            skip = True
        elif not arg.startswith(("--ansible-venv=", "--write-results=")):
            extra.append(arg)
    return extra


def stop_on_sigterm(signum: int, frame: Any) -> None:
    """A SIGTERM handler: exit through SystemExit, so the scripts' finally blocks stop moto and the proxy."""
    raise SystemExit(128 + signum)
