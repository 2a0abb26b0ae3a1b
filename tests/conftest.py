# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import importlib
import sys
from pathlib import Path

# tests/tools/*.py are top-level modules (tests/ is not a package): with the folder on sys.path the tests import them
# by name (`import moto_control`, `from aws_clients import iam_client`). The benchmarks put the same folder on their
# path (benchmarks/harness.py), so both load the one copy of each tool.
TOOLS_DIR = str(Path(__file__).resolve().parent / "tools")
if TOOLS_DIR not in sys.path:
    sys.path.insert(0, TOOLS_DIR)

# Make `import ansible_collections.keyguard.aws...` resolve to this checkout: the collection must sit at
# <root>/ansible_collections/keyguard/aws, and a symlink to the checkout is enough for imports.
ansible_env = importlib.import_module("ansible_env")
ansible_env.ensure_collection_link()
COLLECTIONS_ROOT = str(ansible_env.COLLECTIONS_ROOT)
if COLLECTIONS_ROOT in sys.path:
    sys.path.remove(COLLECTIONS_ROOT)
sys.path.insert(0, COLLECTIONS_ROOT)
