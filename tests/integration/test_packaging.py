# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection builds, installs from its tarball, and ansible-doc renders every module from the install."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MODULES = sorted(path.stem for path in (REPO_ROOT / "plugins" / "modules").glob("*.py") if path.stem != "__init__")


def run(command: list[str], env: dict[str, str], cwd: Path) -> str:
    completed = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, f"{command}: {completed.stdout[-3000:]}{completed.stderr[-3000:]}"
    return completed.stdout


def test_build_install_and_ansible_doc(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env["ANSIBLE_HOME"] = str(tmp_path / "home")
    env["ANSIBLE_NOCOLOR"] = "1"
    galaxy = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text(encoding="utf-8"))

    run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), str(REPO_ROOT)],
        env,
        tmp_path,
    )
    tarball = tmp_path / f"keyguard-aws-{galaxy['version']}.tar.gz"
    assert tarball.is_file()
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
    assert {f"plugins/modules/{name}.py" for name in MODULES} <= names
    assert "meta/runtime.yml" in names and "COPYING" in names
    assert not any(name.startswith((".venv", ".build", "tests/output")) for name in names)

    installed = tmp_path / "collections"
    run([str(BIN / "ansible-galaxy"), "collection", "install", "-p", str(installed), str(tarball)], env, tmp_path)
    assert (installed / "ansible_collections" / "keyguard" / "aws" / "MANIFEST.json").is_file()

    env["ANSIBLE_COLLECTIONS_PATH"] = str(installed)
    listing = run([str(BIN / "ansible-doc"), "--list", "keyguard.aws"], env, tmp_path)
    for name in MODULES:
        assert f"keyguard.aws.{name}" in listing
        doc = run([str(BIN / "ansible-doc"), f"keyguard.aws.{name}"], env, tmp_path)
        assert f"keyguard.aws.{name}" in doc.splitlines()[0]
        # The AWS modules take the connection options; access_key_audit (it writes files on the controller) does not.
        if name == "access_key_audit":
            expected = ("hosts", "result_var", "dest", "formats")
        else:
            expected = ("access_key", "secret_key", "endpoint_url", "aws_config")
        for option in expected:
            assert option in doc
        assert "EXAMPLES:" in doc and "RETURN VALUES:" in doc
