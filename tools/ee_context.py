# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make ee-context`: an execution environment build context with this checkout of keyguard.aws in it.

1. ``ansible-galaxy collection build`` makes the collection tarball.
2. An ansible-builder version 3 definition (EE_DEFINITION) installs that tarball; the Python and system
   dependencies come from the collection's own meta/execution-environment.yml (requirements.txt, bindep.txt).
3. ``ansible-builder create`` writes the build context (Containerfile and _build/) without a container engine.
4. ``ansible-builder introspect`` on an installed copy of the tarball shows the dependencies the image build
   will install (printed, and returned by ``introspect()``).

Build the image from the context with ``podman build -f <dir>/context/Containerfile <dir>/context`` (or docker).

Usage: .venv/bin/python tools/ee_context.py [--output-dir .build/ee]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN_DIR = Path(sys.executable).parent
OUTPUT_DIR = REPO_ROOT / ".build" / "ee"
TARBALL_DIR_IN_IMAGE = "/tmp/keyguard-collections"  # a path inside the image build, not on this machine


def ansible_core_requirement() -> str:
    """ansible-core within the range meta/runtime.yml declares (requires_ansible)."""
    runtime = yaml.safe_load((REPO_ROOT / "meta" / "runtime.yml").read_text(encoding="utf-8"))
    return "ansible-core" + runtime["requires_ansible"].replace(" ", "")


def ee_definition(tarball_name: str) -> dict[str, Any]:
    """An ansible-builder version 3 definition for an EE with the keyguard.aws tarball ``tarball_name``."""
    return {
        "version": 3,
        "images": {"base_image": {"name": "quay.io/centos/centos:stream9"}},
        "dependencies": {
            "python_interpreter": {"package_system": "python3.11", "python_path": "/usr/bin/python3.11"},
            "ansible_core": {"package_pip": ansible_core_requirement()},
            "ansible_runner": {"package_pip": "ansible-runner"},
            # From Galaxy this would be just `- name: keyguard.aws`; here it is the tarball of this checkout.
            "galaxy": {"collections": [{"name": f"{TARBALL_DIR_IN_IMAGE}/{tarball_name}", "type": "file"}]},
        },
        "additional_build_files": [{"src": tarball_name, "dest": "collections"}],
        "additional_build_steps": {"prepend_galaxy": [f"COPY _build/collections/ {TARBALL_DIR_IN_IMAGE}/"]},
    }


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    print("+ " + " ".join(command), flush=True)
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    if completed.returncode:
        sys.stderr.write(completed.stdout + completed.stderr)
        raise SystemExit(f"ee_context: {command[0]} failed with exit status {completed.returncode}")
    return completed.stdout


def _env(workdir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env["ANSIBLE_HOME"] = str(workdir / "ansible-home")
    env["ANSIBLE_NOCOLOR"] = "1"
    env["PATH"] = f"{BIN_DIR}{os.pathsep}{env.get('PATH', '')}"
    return env


def build_tarball(workdir: Path) -> Path:
    command = [str(BIN_DIR / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(workdir)]
    _run([*command, str(REPO_ROOT)], workdir, _env(workdir))
    galaxy = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text(encoding="utf-8"))
    return workdir / f"{galaxy['namespace']}-{galaxy['name']}-{galaxy['version']}.tar.gz"


def create_context(workdir: Path) -> Path:
    """Write the definition next to a fresh tarball and run ``ansible-builder create``; returns the context dir."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    tarball = build_tarball(workdir)
    definition = workdir / "execution-environment.yml"
    definition.write_text("---\n" + yaml.safe_dump(ee_definition(tarball.name), sort_keys=False), encoding="utf-8")
    context = workdir / "context"
    _run(
        [
            str(BIN_DIR / "ansible-builder"),
            "create",
            "--file",
            str(definition),
            "--context",
            str(context),
            "--output-filename",
            "Containerfile",
        ],
        workdir,
        _env(workdir),
    )
    return context


def introspect(workdir: Path, tarball: Path) -> dict[str, list[str]]:
    """The Python and system requirements ansible-builder collects from the installed collection."""
    installed = workdir / "introspect"
    env = _env(workdir)
    _run([str(BIN_DIR / "ansible-galaxy"), "collection", "install", "-p", str(installed), str(tarball)], workdir, env)
    output = _run([str(BIN_DIR / "ansible-builder"), "introspect", "--sanitize", str(installed)], workdir, env)
    return yaml.safe_load(output)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=OUTPUT_DIR, help="default: %(default)s")
    args = parser.parse_args()
    workdir = args.output_dir.resolve()
    context = create_context(workdir)
    tarball = next(workdir.glob("*.tar.gz"))
    requirements = introspect(workdir, tarball)
    print(f"\nBuild context: {context} (Containerfile and _build/)")
    print("The image build installs, from the collection's meta/execution-environment.yml:")
    print(yaml.safe_dump(requirements, sort_keys=False).rstrip())
    print(f"Build it with: podman build -f {context}/Containerfile -t keyguard-aws-ee {context}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
