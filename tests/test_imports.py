"""The project's import graph: no cycles anywhere (lazy imports inside functions included), and the
layering holds (nothing in `index/` imports `service/`; the installed packages never import `scripts/`)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers import ROOT

PACKAGES = ("index", "service", "scripts")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_imports() -> dict[str, set[str]]:
    """Each project module and the project modules it imports (a `from package import name` that is
    a sub-module counts as that sub-module)."""
    modules = {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges |= {alias.name for alias in node.names if alias.name in modules}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module not in modules:
                    continue
                subs = {f"{node.module}.{alias.name}" for alias in node.names}
                edges |= (subs & modules.keys()) or {node.module}
        graph[name] = edges - {name}
    return graph


def test_no_module_imports_itself_through_others() -> None:
    graph = project_imports()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles: " + "; ".join(" → ".join(c) for c in cycles)


def test_the_layers_point_one_way() -> None:
    graph = project_imports()
    upward = [
        (m, t)
        for m, targets in graph.items()
        for t in targets
        if m.startswith("index") and t.startswith("service")
    ]
    into_scripts = [
        (m, t)
        for m, targets in graph.items()
        for t in targets
        if not m.startswith("scripts") and t.startswith("scripts")
    ]
    assert not upward, f"index imports service: {upward}"
    assert not into_scripts, f"the installed packages import scripts: {into_scripts}"
