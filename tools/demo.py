# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make demo`: run playbooks/demo.yml against a moto server started here on 127.0.0.1.

The server is stopped by pid however the playbook ends; the exit status is the playbook's.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_USER = "demo-app"


def load_moto_control():
    path = REPO_ROOT / "tests" / "tools" / "moto_control.py"
    spec = importlib.util.spec_from_file_location("moto_control", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["moto_control"] = module
    spec.loader.exec_module(module)
    return module


def create_demo_user(endpoint_url: str) -> None:
    """keyguard.aws manages keys, not users: make the demo's user with boto3."""
    import boto3

    iam = boto3.client(
        "iam",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # moto accepts any credentials
    )
    iam.create_user(UserName=DEMO_USER, Path="/service/")


def main() -> int:
    moto_control = load_moto_control()
    workdir = Path(tempfile.mkdtemp(prefix="keyguard-demo-"))
    print(f"Starting moto_server on 127.0.0.1 (log: {workdir / 'moto.log'}) ...", flush=True)
    server = moto_control.start_moto_server(workdir)
    try:
        print(f"moto_server pid {server.pid} listens on {server.url}", flush=True)
        create_demo_user(server.url)
        print(f"Created IAM user {DEMO_USER} on the test server.\n", flush=True)
        env = {
            **os.environ,
            "ANSIBLE_COLLECTIONS_PATH": str(REPO_ROOT / ".build" / "collections"),
            "ANSIBLE_NOCOLOR": os.environ.get("ANSIBLE_NOCOLOR", "1"),
            "ANSIBLE_LOCALHOST_WARNING": "False",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
        }
        command = [
            str(Path(sys.executable).parent / "ansible-playbook"),
            str(REPO_ROOT / "playbooks" / "demo.yml"),
            "-e",
            f"keyguard_endpoint_url={server.url}",
            "-e",
            f"keyguard_demo_user={DEMO_USER}",
        ]
        return subprocess.run(command, env=env, check=False).returncode
    finally:
        server.stop()
        print(f"\nStopped moto_server (pid {server.pid}).", flush=True)


if __name__ == "__main__":
    sys.exit(main())
