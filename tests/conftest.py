# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os
import sys
from pathlib import Path

# Make `import ansible_collections.keyguard.aws...` resolve to this checkout: the collection must sit at
# <root>/ansible_collections/keyguard/aws, and a symlink to the checkout is enough for imports.
REPO_ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS_ROOT = REPO_ROOT / ".build" / "collections"
COLLECTION_LINK = COLLECTIONS_ROOT / "ansible_collections" / "keyguard" / "aws"


def _ensure_collection_link() -> None:
    if COLLECTION_LINK.is_symlink() and COLLECTION_LINK.resolve() == REPO_ROOT:
        return
    if COLLECTION_LINK.is_symlink():  # points elsewhere (an old checkout): repoint it
        COLLECTION_LINK.unlink()
    elif COLLECTION_LINK.exists():
        raise RuntimeError(f"{COLLECTION_LINK} exists and is not a symlink to {REPO_ROOT}; remove it")
    COLLECTION_LINK.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.symlink(REPO_ROOT, COLLECTION_LINK, target_is_directory=True)
    except FileExistsError:  # created concurrently by another test process
        pass


_ensure_collection_link()
if str(COLLECTIONS_ROOT) in sys.path:
    sys.path.remove(str(COLLECTIONS_ROOT))
sys.path.insert(0, str(COLLECTIONS_ROOT))
