# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make docs`: build the collection's HTML docs site into docs/build/html, offline.

1. ``antsibull-docs sphinx-init`` writes a fresh Sphinx scaffold (conf.py, antsibull-docs.cfg) into
   .build/docs/ (nothing of it is committed; only docs/docsite/links.yml is, for the index page links).
2. conf.py gets an ``intersphinx_mapping`` that reads a small local inventory first: the generated pages
   link to a few labels of the Ansible docs (listed in ANSIBLE_DOCS_LABELS), and the real inventories
   live on hosts this build must not need. Links still point at docs.ansible.com.
3. ``antsibull-docs collection --use-current`` renders the RST of keyguard.aws as installed in
   ANSIBLE_COLLECTIONS_PATH (default: .build/collections, whose keyguard/aws links to this checkout).
4. ``sphinx-build -W`` (warnings are errors, so a broken reference fails the build) writes the HTML.

Run it with the Python of the venv that has requirements-docs.txt: ``.venv/bin/python tools/build_docs.py``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
WORK_DIR = REPO_ROOT / ".build" / "docs"
OUTPUT_DIR = REPO_ROOT / "docs" / "build" / "html"
COLLECTION = "keyguard.aws"
BIN_DIR = Path(sys.executable).parent

ANSIBLE_DOCS_URL = "https://docs.ansible.com/projects/ansible/devel/"
# label -> (page#anchor relative to ANSIBLE_DOCS_URL, title): the Ansible docs labels antsibull-docs links to.
# A label missing here makes sphinx-build fail with "undefined label"; add it with its docs.ansible.com page.
ANSIBLE_DOCS_LABELS = {
    "action_plugins": ("plugins/action.html#action-plugins", "Action plugins"),
    "ansible_configuration_settings": (
        "reference_appendices/config.html#ansible-configuration-settings",
        "Ansible Configuration Settings",
    ),
    "common_return_values": (
        "reference_appendices/common_return_values.html#common-return-values",
        "Return Values",
    ),
    "module_defaults": ("playbook_guide/playbooks_module_defaults.html#module-defaults", "Module defaults"),
}
INVENTORY_NAME = "ansible_devel.inv"

CONF_OVERRIDES = f"""

# --- added by tools/build_docs.py --------------------------------------------------------------
# Build offline: resolve references to the Ansible docs from a local inventory of the few labels the
# generated pages use (links still go to docs.ansible.com); no other intersphinx inventories.
intersphinx_mapping = {{
    "ansible_devel": ({ANSIBLE_DOCS_URL!r}, ("../{INVENTORY_NAME}",)),
}}
intersphinx_timeout = 5
"""


def write_inventory(path: Path) -> None:
    """A Sphinx objects.inv (version 2) holding ANSIBLE_DOCS_LABELS as std:label entries."""
    header = (
        "# Sphinx inventory version 2\n"
        "# Project: Ansible\n"
        "# Version: devel\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    lines = "".join(
        f"{label} std:label -1 {uri} {title}\n" for label, (uri, title) in sorted(ANSIBLE_DOCS_LABELS.items())
    )
    path.write_bytes(header.encode("utf-8") + zlib.compress(lines.encode("utf-8")))


def tool(name: str) -> str:
    """The console script ``name`` beside this Python, else from PATH."""
    candidate = BIN_DIR / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        sys.exit(f"build_docs: {name} not found; install requirements-docs.txt into this venv")
    return found


def run(command: list[str], env: dict[str, str], cwd: Path) -> None:
    print("+ " + " ".join(command), flush=True)
    completed = subprocess.run(command, env=env, cwd=cwd, check=False)
    if completed.returncode:
        sys.exit(completed.returncode)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT_DIR, help="HTML output folder (default: %(default)s)")
    parser.add_argument("--work-dir", type=Path, default=WORK_DIR, help="scaffold folder (default: %(default)s)")
    args = parser.parse_args()

    env = dict(os.environ)
    env["PATH"] = f"{BIN_DIR}{os.pathsep}{env.get('PATH', '')}"  # the ansible-doc antsibull-docs runs
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO_ROOT / ".build" / "collections"))
    env["ANSIBLE_NOCOLOR"] = "1"

    work: Path = args.work_dir.resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    work.chmod(0o700)  # antsibull-docs only writes into a folder that only its owner can write to
    run(
        [
            tool("antsibull-docs"),
            "sphinx-init",
            "--use-current",
            "--squash-hierarchy",
            "--fail-on-error",
            "--dest-dir",
            str(work),
            "--project",
            COLLECTION,
            "--copyright",
            "2026 keyguard.aws contributors",
            "--title",
            f"{COLLECTION} collection documentation",
            "--html-short-title",
            COLLECTION,
            COLLECTION,
        ],
        env,
        work,
    )
    with (work / "conf.py").open("a", encoding="utf-8") as conf:
        conf.write(CONF_OVERRIDES)
    write_inventory(work / INVENTORY_NAME)

    rst = work / "rst"
    rst.mkdir(mode=0o755, exist_ok=True)
    rst.chmod(0o755)
    run(
        [
            tool("antsibull-docs"),
            "--config-file",
            str(work / "antsibull-docs.cfg"),
            "collection",
            "--use-current",
            "--squash-hierarchy",
            "--fail-on-error",
            "--cleanup",
            "everything",
            "--dest-dir",
            str(rst),
            COLLECTION,
        ],
        env,
        work,
    )

    output: Path = args.output.resolve()
    shutil.rmtree(output, ignore_errors=True)
    run(
        [
            tool("sphinx-build"),
            "--builder",
            "html",
            "--fail-on-warning",
            "--keep-going",
            "--quiet",
            "--conf-dir",
            str(work),
            "--doctree-dir",
            str(work / "doctrees"),
            str(rst),
            str(output),
        ],
        env,
        work,
    )
    print(f"docs: {output / 'index.html'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
