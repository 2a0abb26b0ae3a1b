# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Lines of code of each plugins/module_utils file, and a check that none is over the limit (issue 15).

A line of code is a line holding at least one token other than a comment, a newline or indentation, that is not part
of a docstring (the string statement opening a module, class or function). Blank lines, comments and docstrings are
not counted; a statement over several lines counts each of its lines.

    tools/code_lines.py [--limit N] [FILE ...]    (default: every plugins/module_utils/*.py, limit 350)
"""

from __future__ import annotations

import argparse
import ast
import io
import sys
import tokenize
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
IGNORED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}


def docstring_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                lines.update(range(first.lineno, first.end_lineno + 1))
    return lines


def code_lines(source: str) -> int:
    skipped = docstring_lines(ast.parse(source))
    lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in IGNORED:
            continue
        lines.update(line for line in range(token.start[0], token.end[0] + 1) if line not in skipped)
    return len(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=350)
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args(argv)
    files = args.files or sorted((REPO_ROOT / "plugins" / "module_utils").glob("*.py"))
    over = []
    for path in files:
        count = code_lines(path.read_text(encoding="utf-8"))
        shown = path.relative_to(REPO_ROOT) if path.resolve().is_relative_to(REPO_ROOT) else path
        print(f"{count:5d}  {shown}")
        if count > args.limit:
            over.append(path.name)
    if over:
        print(f"over {args.limit} lines of code: {', '.join(over)}; split by responsibility", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
