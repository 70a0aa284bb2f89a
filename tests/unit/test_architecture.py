"""The layering the README describes, checked on the source: imports, module state, module size."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("logiflow", "agents", "tables")
MAX_LINES = 300


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports(path: Path, name: str) -> set[str]:
    """Every module ``path`` imports at run time, at any depth (lazy imports are arrows too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                 and ast.unparse(block.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
                 for stmt in block.body for n in ast.walk(stmt)}
    out = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue  # not an import at run time
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:
                base = ".".join([*name.split(".")[:-node.level], node.module])
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: {i for i in imports(path, name) if i in mods} for name, path in mods.items()}


def test_the_domain_never_imports_the_wire_codec_or_anything_outside_the_domain() -> None:
    for name, deps in graph().items():
        if name.startswith("logiflow.domain"):
            outside = {d for d in deps if not d.startswith("logiflow.domain")} - {"logiflow.errors",
                                                                                  "logiflow.topics"}
            assert not outside, f"{name} imports {sorted(outside)}"


def test_the_web_never_imports_the_agents() -> None:
    for name, deps in graph().items():
        if name.startswith("logiflow.web"):
            assert not {d for d in deps if d.startswith("agents")}, name


def test_agent_modules_hold_no_module_level_state() -> None:
    for path in (REPO / "agents").glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                value = node.value
                is_logger = (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
                             and value.func.attr == "getLogger")
                is_name = isinstance(value, ast.Constant) and isinstance(value.value, str)
                assert is_logger or is_name, f"{path.name}: module-level state {names}"


def test_no_python_module_in_the_package_is_over_300_lines() -> None:
    long = {str(p.relative_to(REPO)): n for p in (REPO / "logiflow").rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, long


def test_there_are_no_import_cycles() -> None:
    g = graph()
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(g.get(node, ())):
            if dep == node or dep.startswith(node + "."):
                continue  # a package re-exporting its own submodule
            if state.get(dep) == 1:
                cycle = [*path[path.index(dep):], dep] if dep in path else [node, dep]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for node in sorted(g):
        if node not in state:
            visit(node, [node])
