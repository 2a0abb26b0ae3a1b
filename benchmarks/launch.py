# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run one command and write its wall time, CPU time and peak memory as JSON.

    python benchmarks/launch.py RESULT.json COMMAND [ARG...]

A small process between the benchmark runner and the measured command: Linux counts the memory
of the process image a child had before it called exec() in that child's ``ru_maxrss``, so a
command started straight from the runner (which grows to ~80 MiB while it seeds and records calls)
would report at least the runner's size. Started from this small process, the command's
``ru_maxrss`` (from ``wait4``, covering its whole waited-for process tree) is its own.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(argv: list[str]) -> int:
    result_path, command = argv[1], argv[2:]
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: become the command (stdin/stdout/stderr are inherited)
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)  # pylint: disable=protected-access
    _pid, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    returncode = os.waitstatus_to_exitcode(status)
    result = {
        "returncode": returncode,
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_rss_kib": usage.ru_maxrss,
    }
    with open(result_path, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
