"""The web package's shape: small modules, no arrow to the agents, no module-level rebinding."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "logiflow" / "web"
MODULES = sorted(WEB.glob("*.py"))


def imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_a_web_module_is_small_and_needs_neither_agents_nor_globals(path: Path) -> None:
    text = path.read_text()
    tree = ast.parse(text)
    assert len(text.splitlines()) <= 300
    assert not {n for n in imported(tree) if n == "agents" or n.startswith("agents.")}
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Global)]


def test_the_layout_check_sees_the_modules() -> None:
    assert {"http.py", "worker_status.py", "api_trucks.py", "pages.py"} <= {p.name for p in MODULES}
