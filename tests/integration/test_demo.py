# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make demo` stays runnable: tools/demo.py starts its own moto server, runs the playbook and stops it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_demo_walks_the_lifecycle_and_stops_its_server(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "AWS_"))}
    env["ANSIBLE_HOME"] = str(tmp_path / "ansible-home")
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools" / "demo.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-4000:]
    assert "Check mode plans: create, describe" in output
    created = re.search(r"Created (AKIA[A-Z0-9]{16}) \(Active\), secret received: True", output)
    assert created, output[-4000:]
    key_id = created.group(1)
    assert "changed=False, secret returned again: False" in output
    assert re.search(rf"{key_id} Active, 0 days old, last used \d{{4}}-\d\d-\d\dT[^ ]+ with iam in us-east-1", output)
    assert f"{key_id} is now Inactive" in output
    assert "keys left: 0" in output
    assert "0 access keys in the account" in output
    assert "ok=15" in output and "failed=0" in output
    # The secret never reaches the output, and the server was stopped by pid.
    assert "SecretAccessKey" not in output and "secret_access_key" not in output
    pid = int(re.search(r"Stopped moto_server \(pid (\d+)\)", output).group(1))
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
