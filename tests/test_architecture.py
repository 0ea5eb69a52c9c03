"""The package's shape: modules with one concern, no import cycle, layers importing downwards."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "bankanalysis"
MAX_LINES = 900

#: Layers from the bottom up; a module may import only from its own layer or those below.
LAYERS: dict[str, int] = {
    "exceptions": 0,
    "config": 0,
    "provenance": 0,
    "frames": 0,
    "shared_work": 0,
    "lp": 0,
    "rules": 1,
    "contract": 1,
    "data": 2,
    "synthetic": 2,
    "params": 2,
    "segmentation": 3,
    "actions": 3,
    "benchmarking": 3,
    "propensity": 3,
    "overview": 3,
    "plan": 3,
    "planning": 3,
    "report": 4,
    "batch": 5,
    "selfcheck": 6,
    "cli": 7,
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(path: Path, name: str, modules: dict[str, Path], top_only: bool) -> set[str]:
    """bankanalysis modules imported by ``path`` (module level only when ``top_only``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_only else list(ast.walk(tree))
    found: set[str] = set()
    pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in nodes:
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = pkg.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        for t in targets:
            while t and t not in modules:
                t = t.rpartition(".")[0]
            if t and t != name and t.startswith("bankanalysis"):
                found.add(t)
    return found


def _graph(top_only: bool) -> dict[str, set[str]]:
    modules = _modules()
    return {m: _imports(p, m, modules, top_only) for m, p in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            # a package importing its own submodules (re-exports) is not a cycle
            if m.startswith(n + "."):
                continue
            if state.get(m) == 1:
                return stack[stack.index(m) :] + [m]
            if state.get(m) is None and (found := visit(m)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if state.get(n) is None and (found := visit(n)):
            return found
    return None


def test_no_module_is_over_the_size_limit():
    big = {
        m: n
        for m, p in _modules().items()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not big, f"modules over {MAX_LINES} lines: {big}"


def test_no_import_cycle_even_through_function_level_imports():
    graph = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in _graph(False).items()}
    assert _cycle(graph) is None, f"import cycle: {' -> '.join(_cycle(graph) or [])}"


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 else None


def test_layers_import_only_downwards():
    wrong = []
    for m, deps in _graph(False).items():
        lm = _layer(m)
        for d in deps:
            ld = _layer(d)
            if lm is not None and ld is not None and ld > lm:
                wrong.append(f"{m} -> {d}")
    assert not wrong, "imports against the layering:\n" + "\n".join(sorted(wrong))


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
