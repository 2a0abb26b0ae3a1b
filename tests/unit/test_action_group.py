# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


def modules_on_disk() -> list[str]:
    return sorted(path.stem for path in (REPO_ROOT / "plugins" / "modules").glob("*.py") if path.name != "__init__.py")


def action_group() -> list[str]:
    runtime = yaml.safe_load((REPO_ROOT / "meta" / "runtime.yml").read_text(encoding="utf-8"))
    return runtime["action_groups"]["aws"]


def test_modules_found() -> None:
    # Guards against a wrong REPO_ROOT making the comparison below vacuous.
    assert "iam_access_key" in modules_on_disk()


def test_action_group_lists_exactly_the_modules() -> None:
    group = action_group()
    assert len(group) == len(set(group)), f"duplicates in action_groups.aws: {group}"
    assert sorted(group) == modules_on_disk()


def test_action_group_uses_short_names() -> None:
    # module_defaults group/keyguard.aws.aws resolves short names inside the collection; FQCNs or metadata
    # entries would not match the comparison above anyway, but say so clearly.
    assert all(isinstance(name, str) and "." not in name for name in action_group())
