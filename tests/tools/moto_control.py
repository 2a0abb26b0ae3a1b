# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Start, drive and stop ``tests/tools/moto_server.py`` from another process (tests, demo, benchmarks).

No pytest here, so ``tools/demo.py`` and the benchmarks can use it too.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

TOOLS_DIR = Path(__file__).resolve().parent
SERVER_START_TIMEOUT = 60.0
SERVER_STOP_TIMEOUT = 10.0
UTC = datetime.timezone.utc


def _parse_iso(value: str) -> datetime.datetime:
    parsed = datetime.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# moto server
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class MotoServer:
    """A running ``tests/tools/moto_server.py`` process.

    Clock helpers return the server's new fake time as an aware UTC ``datetime``.
    """

    url: str
    port: int
    pid: int
    log_path: Path
    process: subprocess.Popen = dataclasses.field(repr=False)
    startup_seconds: float = 0.0

    def _request(self, path: str, payload: Mapping[str, Any] | None = None, method: str | None = None) -> bytes:
        data = None if payload is None else json.dumps(dict(payload)).encode("utf-8")
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method or ("GET" if payload is None else "POST"),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read()

    def _clock(self, path: str, payload: Mapping[str, Any] | None = None) -> datetime.datetime:
        return _parse_iso(json.loads(self._request(path, payload))["now"])

    def now(self) -> datetime.datetime:
        """The server's current (fake) time."""
        return self._clock("/_clock")

    def advance(self, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> datetime.datetime:
        """Move the server's clock forward; it keeps ticking from there."""
        return self._clock("/_clock/advance", {"days": days, "hours": hours, "minutes": minutes, "seconds": seconds})

    def set_time(self, when: datetime.datetime | str) -> datetime.datetime:
        """Jump the clock to ``when`` (a datetime or ISO 8601 string; naive means UTC)."""
        if isinstance(when, datetime.datetime):
            if when.tzinfo is not None:
                when = when.astimezone(UTC)
            when = when.replace(tzinfo=None).isoformat()
        return self._clock("/_clock/set", {"time": when})

    def reset_clock(self) -> datetime.datetime:
        """Undo every shift: the clock shows real time again."""
        return self._clock("/_clock/reset", {})

    def reset(self) -> None:
        """Clear all moto state (``POST /moto-api/reset``) and reset the clock."""
        self._request("/moto-api/reset", {})
        self.reset_clock()

    def stop(self) -> None:
        """Stop the server by its pid: SIGTERM, then SIGKILL after a timeout."""
        stop_process(self.process)

    def is_running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def stop_process(process: subprocess.Popen, timeout: float = SERVER_STOP_TIMEOUT) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def start_moto_server(workdir: Path, start_time: str | None = None, exit_with_parent: bool = True) -> MotoServer:
    """Start the launcher, wait until it listens and answers; stop it again if it does not."""
    workdir.mkdir(parents=True, exist_ok=True)
    port_file = workdir / "moto.port"
    log_path = workdir / "moto.log"
    port_file.unlink(missing_ok=True)
    command = [sys.executable, str(TOOLS_DIR / "moto_server.py"), "--port", "0", "--port-file", str(port_file)]
    if exit_with_parent:
        command.append("--exit-with-parent")  # no orphan even if the parent is killed
    if start_time:
        command += ["--start-time", start_time]
    started = time.monotonic()
    # The server is test equipment: coverage (which `make` asks of every Python subprocess, from its start or from its
    # first load of our plugins through PYTHONPATH's sitecustomize) would only slow it.
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("COVERAGE_PROCESS_", "KEYGUARD_COVERAGE_")) and name != "PYTHONPATH"
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    server = None
    try:
        deadline = started + SERVER_START_TIMEOUT
        while not port_file.exists():
            if process.poll() is not None:
                raise RuntimeError(f"moto server exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("moto server did not write its port file in time")
            time.sleep(0.05)
        port = int(port_file.read_text(encoding="utf-8").strip())
        server = MotoServer(
            url=f"http://127.0.0.1:{port}", port=port, pid=process.pid, log_path=log_path, process=process
        )
        while True:
            try:
                server.now()
                break
            except (urllib.error.URLError, OSError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server does not answer") from None
                time.sleep(0.05)
        server.startup_seconds = time.monotonic() - started
        return server
    except BaseException as exc:
        stop_process(process)
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
        if isinstance(exc, RuntimeError):
            raise RuntimeError(f"{exc}; log {log_path}:\n{tail}") from exc
        raise
