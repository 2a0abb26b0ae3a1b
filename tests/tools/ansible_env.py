# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How the integration tests and the benchmarks run ``ansible-playbook``: the collection link and the environment."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS_ROOT = REPO_ROOT / ".build" / "collections"
COLLECTION_LINK = COLLECTIONS_ROOT / "ansible_collections" / "keyguard" / "aws"
CALLBACK_DIR = Path(__file__).resolve().parent / "callback_plugins"
# make integration measures coverage from the first import of our plugins (see coverage_on_import/sitecustomize.py).
COVERAGE_ON_IMPORT_DIR = Path(__file__).resolve().parent / "coverage_on_import"

REGION = "us-east-1"
DUMMY_ACCESS_KEY = "testing"
DUMMY_SECRET_KEY = "testing"  # moto accepts any credentials; these never reach AWS


def ensure_collection_link() -> None:
    """Make ``.build/collections/ansible_collections/keyguard/aws`` a symlink to this checkout."""
    if COLLECTION_LINK.is_symlink() and COLLECTION_LINK.resolve() == REPO_ROOT:
        return
    if COLLECTION_LINK.is_symlink():  # left over from another checkout: repoint it
        COLLECTION_LINK.unlink()
    elif COLLECTION_LINK.exists():
        raise RuntimeError(f"{COLLECTION_LINK} exists and is not a symlink to {REPO_ROOT}; remove it")
    COLLECTION_LINK.parent.mkdir(parents=True, exist_ok=True)
    try:
        COLLECTION_LINK.symlink_to(REPO_ROOT, target_is_directory=True)
    except FileExistsError:  # created concurrently
        pass


def playbook_environment(
    workdir: Path, bin_dir: Path, collections_path: Iterable[Path], endpoint_url: str, results_file: Path
) -> dict[str, str]:
    """The parent environment without any ANSIBLE_*/AWS_* settings, plus a private ansible home and config,
    the results callback (writing to ``results_file``) and dummy AWS credentials for ``endpoint_url``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if (not key.startswith(("ANSIBLE_", "AWS_", "BOTO_", "KEYGUARD_")) and key != "PYTHONPATH")
        or key == "KEYGUARD_COVERAGE_START"
    }
    home = workdir / "ansible_home"
    home.mkdir(exist_ok=True)
    (workdir / "ansible.cfg").write_text("[defaults]\n", encoding="utf-8")
    env.update(
        {
            "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
            "ANSIBLE_CONFIG": str(workdir / "ansible.cfg"),  # no ./ansible.cfg, ~/.ansible.cfg or /etc one
            "ANSIBLE_HOME": str(home),
            "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
            "ANSIBLE_REMOTE_TEMP": str(home / "remote_tmp"),
            "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join(str(path) for path in collections_path),
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "False",
            "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACK_DIR),
            "ANSIBLE_CALLBACKS_ENABLED": "keyguard_results",
            "ANSIBLE_STDOUT_CALLBACK": "default",
            "KEYGUARD_TEST_RESULTS_FILE": str(results_file),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_LOCALHOST_WARNING": "False",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
            # Belt and braces: even a task without module_defaults never reaches real AWS.
            "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_KEY,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_CONFIG_FILE": str(workdir / "aws_config_absent"),
            "AWS_SHARED_CREDENTIALS_FILE": str(workdir / "aws_credentials_absent"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    if env.get("KEYGUARD_COVERAGE_START"):
        env["PYTHONPATH"] = str(COVERAGE_ON_IMPORT_DIR)
    return env
