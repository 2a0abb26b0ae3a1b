# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


def modules_on_disk() -> list[str]:
    return sorted(path.stem for path in (REPO_ROOT / "plugins" / "modules").glob("*.py") if path.name != "__init__.py")


def aws_modules() -> list[str]:
    """The modules that take the AWS connection options (their docs extend the connection fragment)."""
    modules = REPO_ROOT / "plugins" / "modules"
    return [
        name
        for name in modules_on_disk()
        if "- keyguard.aws.connection\n" in (modules / f"{name}.py").read_text(encoding="utf-8")
    ]


def action_group() -> list[str]:
    runtime = yaml.safe_load((REPO_ROOT / "meta" / "runtime.yml").read_text(encoding="utf-8"))
    return runtime["action_groups"]["aws"]


def test_modules_found() -> None:
    # Guards against a wrong REPO_ROOT making the comparisons below vacuous.
    assert {"iam_access_key", "iam_access_key_info"} <= set(aws_modules())
    assert "access_key_audit" in modules_on_disk()


def test_action_group_lists_exactly_the_aws_modules() -> None:
    # module_defaults for group/keyguard.aws.aws set connection options: a module without them (access_key_audit,
    # which only writes files on the controller) must stay out, or those defaults would be unsupported options there.
    group = action_group()
    assert len(group) == len(set(group)), f"duplicates in action_groups.aws: {group}"
    assert sorted(group) == aws_modules()


def test_action_group_uses_short_names() -> None:
    # module_defaults group/keyguard.aws.aws resolves short names inside the collection; FQCNs or metadata
    # entries would not match the comparison above anyway, but say so clearly.
    assert all(isinstance(name, str) and "." not in name for name in action_group())
