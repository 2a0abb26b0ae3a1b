# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Execution environments: the collection's metadata, and a build context made by ansible-builder.

Building an image needs a container engine, which is not assumed; ``ansible-builder create`` (the build
context) and ``ansible-builder introspect`` (the dependencies the image build installs from the collection)
need none. ansible-builder comes from requirements-docs.txt; where it is not installed (the compatibility venvs
of tools/compat.sh) the build-context test is skipped.
"""

from __future__ import annotations

import filecmp
import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent


def load_ee_context():
    spec = importlib.util.spec_from_file_location("ee_context", REPO_ROOT / "tools" / "ee_context.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def test_execution_environment_metadata_names_the_requirement_files() -> None:
    meta = yaml.safe_load((REPO_ROOT / "meta" / "execution-environment.yml").read_text(encoding="utf-8"))
    assert meta["version"] == 3
    assert meta["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}
    # Python: botocore only, with the minimum the modules check (tests/unit checks it matches the code).
    assert [line.split(">=")[0] for line in requirement_lines(REPO_ROOT / "requirements.txt")] == ["botocore"]
    # System: nothing beyond the image's Python; the file says why.
    assert requirement_lines(REPO_ROOT / "bindep.txt") == []
    assert "pure-Python" in (REPO_ROOT / "bindep.txt").read_text(encoding="utf-8")


def test_ansible_builder_creates_a_build_context(tmp_path: Path) -> None:
    if not (BIN_DIR / "ansible-builder").exists():
        pytest.skip(f"ansible-builder is not installed in {BIN_DIR} (it comes with requirements-docs.txt)")
    ee_context = load_ee_context()
    workdir = tmp_path / "ee"

    context = ee_context.create_context(workdir)

    tarball = next(workdir.glob("keyguard-aws-*.tar.gz"))
    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    runtime = yaml.safe_load((REPO_ROOT / "meta" / "runtime.yml").read_text(encoding="utf-8"))
    assert f'ARG ANSIBLE_INSTALL_REFS="ansible-core{runtime["requires_ansible"]} ansible-runner"' in containerfile
    assert "ansible-galaxy collection install" in containerfile
    assert "introspect.py introspect" in containerfile  # the image build reads meta/execution-environment.yml
    assert "COPY _build/collections/ /tmp/keyguard-collections/" in containerfile
    galaxy_requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text(encoding="utf-8"))
    assert galaxy_requirements == {
        "collections": [{"name": f"/tmp/keyguard-collections/{tarball.name}", "type": "file"}]
    }
    assert filecmp.cmp(context / "_build" / "collections" / tarball.name, tarball, shallow=False)
    assert (context / "_build" / "scripts" / "introspect.py").is_file()

    # What the image build will install from the collection: requirements.txt and bindep.txt.
    found = ee_context.introspect(workdir, tarball)
    expected = [f"{line}  # from collection keyguard.aws" for line in requirement_lines(REPO_ROOT / "requirements.txt")]
    assert found == {"python": expected, "system": []}
