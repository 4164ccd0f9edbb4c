"""The house rules import-linter and ruff cannot check (run by `make lint`).

- No module of app code over 600 lines (migrations aside).
- No view over 40 lines: a view reads through selectors, writes through services and renders;
  anything longer is a helper or a selector waiting to be named.
- An import inside a function says why, in a comment on the line above it or after it.

Exits 1 and names each place that breaks a rule.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_PACKAGES = ("agencies", "referrals", "safeguarding")
MAX_MODULE_LINES = 600
MAX_VIEW_LINES = 40
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def app_modules() -> list[Path]:
    return sorted(
        path
        for package in APP_PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    )


def is_views_module(path: Path) -> bool:
    return path.name == "views.py" or path.parent.name == "views"


def views(tree: ast.Module) -> list[ast.FunctionDef]:
    """Functions taking a request first, and the HTTP-method handlers of view classes."""
    found = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.args.args[:1]
        if node.args.args[0].arg == "request"
    ]
    for cls in (node for node in tree.body if isinstance(node, ast.ClassDef)):
        found += [
            node
            for node in cls.body
            if isinstance(node, ast.FunctionDef) and node.name in HTTP_METHODS
        ]
    return found


def inner_imports(tree: ast.Module) -> list[ast.stmt]:
    """Imports inside a function (not those under `if TYPE_CHECKING:`)."""
    inside: list[ast.stmt] = []
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside += [
                node
                for node in ast.walk(function)
                if isinstance(node, (ast.Import, ast.ImportFrom))
            ]
    return inside


def problems(path: Path) -> list[str]:
    text = path.read_text()
    lines = text.splitlines()
    tree = ast.parse(text)
    name = path.relative_to(ROOT)
    found = []
    if len(lines) > MAX_MODULE_LINES:
        found.append(f"{name}: {len(lines)} lines (at most {MAX_MODULE_LINES})")
    if is_views_module(path):
        for view in views(tree):
            length = (view.end_lineno or view.lineno) - view.lineno + 1
            if length > MAX_VIEW_LINES:
                found.append(
                    f"{name}:{view.lineno}: view {view.name} is {length} lines "
                    f"(at most {MAX_VIEW_LINES})"
                )
    for node in inner_imports(tree):
        above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
        here = lines[node.lineno - 1]
        if not (above.startswith("#") or "#" in here):
            found.append(f"{name}:{node.lineno}: an import inside a function needs a comment why")
    return found


def main() -> int:
    found = [problem for path in app_modules() for problem in problems(path)]
    for problem in found:
        print(problem)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
