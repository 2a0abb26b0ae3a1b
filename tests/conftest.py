# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def _load_ansible_env():
    """tests/tools/ansible_env.py (tests/ is not a package), under the name the other loaders use."""
    if "ansible_env" not in sys.modules:
        spec = importlib.util.spec_from_file_location("ansible_env", Path(__file__).parent / "tools" / "ansible_env.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["ansible_env"] = module
        spec.loader.exec_module(module)
    return sys.modules["ansible_env"]


# Make `import ansible_collections.keyguard.aws...` resolve to this checkout: the collection must sit at
# <root>/ansible_collections/keyguard/aws, and a symlink to the checkout is enough for imports.
ansible_env = _load_ansible_env()
ansible_env.ensure_collection_link()
COLLECTIONS_ROOT = str(ansible_env.COLLECTIONS_ROOT)
if COLLECTIONS_ROOT in sys.path:
    sys.path.remove(COLLECTIONS_ROOT)
sys.path.insert(0, COLLECTIONS_ROOT)
