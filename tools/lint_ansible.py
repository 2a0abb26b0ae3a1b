# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make lint-ansible`: ansible-lint (production profile, offline) on the playbooks, the collection metadata
and the EXAMPLES block of every module.

Each module's EXAMPLES (a list of tasks) is written, unchanged but indented, into a one-play playbook
.build/ansible-lint/examples/<module>.yml; a finding on line N there is on line N - EXAMPLES_OFFSET of the
EXAMPLES block. ansible-lint runs with --offline, so it never asks Galaxy for anything; the collection
itself is found through ANSIBLE_COLLECTIONS_PATH (default: .build/collections, which links to this checkout).

Usage: .venv/bin/python tools/lint_ansible.py [extra ansible-lint args...]
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
MODULES_DIR = REPO_ROOT / "plugins" / "modules"
EXAMPLES_DIR = REPO_ROOT / ".build" / "ansible-lint" / "examples"
COLLECTION = "keyguard.aws"
# What ansible-lint looks at besides the generated EXAMPLES playbooks.
TARGETS = ["playbooks", "galaxy.yml", "meta"]
BIN_DIR = Path(sys.executable).parent
HEADER = """---
# EXAMPLES of {fqcn}, from plugins/modules/{module}.py, indented into one play for ansible-lint.
# Line N here is line N - {offset} of the EXAMPLES text without its leading blank lines.
- name: EXAMPLES of {fqcn}
  hosts: localhost
  gather_facts: false
  tasks:
"""
EXAMPLES_OFFSET = HEADER.count("\n")


def module_examples(path: Path) -> str | None:
    """The EXAMPLES string of a module file, read without importing it."""
    for node in ast.parse(path.read_text(encoding="utf-8"), filename=str(path)).body:
        if isinstance(node, ast.Assign) and any(getattr(target, "id", None) == "EXAMPLES" for target in node.targets):
            value = ast.literal_eval(node.value)
            return value if isinstance(value, str) else None
    return None


def write_examples(directory: Path) -> list[Path]:
    """One playbook per module with EXAMPLES; returns their paths."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    written = []
    for path in sorted(MODULES_DIR.glob("*.py")):
        if path.name == "__init__.py":
            continue
        examples = module_examples(path)
        if not examples or not examples.strip():
            sys.exit(f"lint_ansible: {path.relative_to(REPO_ROOT)} has no EXAMPLES")
        body = examples.strip("\n").splitlines()
        indented = "\n".join(f"    {line}" if line.strip() else "" for line in body)
        header = HEADER.format(fqcn=f"{COLLECTION}.{path.stem}", module=path.stem, offset=EXAMPLES_OFFSET)
        target = directory / f"{path.stem}.yml"
        target.write_text(header + indented + "\n", encoding="utf-8")
        written.append(target)
    return written


def main() -> int:
    examples = write_examples(EXAMPLES_DIR)
    env = dict(os.environ)
    env["PATH"] = f"{BIN_DIR}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO_ROOT / ".build" / "collections"))
    ansible_lint = BIN_DIR / "ansible-lint"
    if not ansible_lint.exists():
        sys.exit("lint_ansible: ansible-lint not found beside this Python; install requirements-docs.txt")
    command = [
        str(ansible_lint),
        "--offline",
        "--profile",
        "production",
        "--strict",
        *sys.argv[1:],
        *TARGETS,
        *(str(path.relative_to(REPO_ROOT)) for path in examples),
    ]
    print("+ " + " ".join(command), flush=True)
    return subprocess.run(command, cwd=REPO_ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
