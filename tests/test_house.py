"""The house rules of ARCHITECTURE.md that code can check: each product file small enough to be
one job, imports that run one way (no package imports one above it, no module imports
itself round a circle), and no pointer to a document that is gone."""

import ast
from pathlib import Path

import pytest

from testkit.paths import REPO

PRODUCT = ["app.py", "serve", "web", "feedback", "sketch_model", "quickdraw", "static/js"]
MAX_LINES = 400
# Downwards in ARCHITECTURE.md's list: a package may import only those after it.
LAYERS = ["serve", "web", "feedback", "sketch_model", "quickdraw"]


def product_files(suffix: str) -> list[Path]:
    found = []
    for entry in PRODUCT:
        path = REPO / entry
        found += [path] if path.is_file() else sorted(path.rglob(f"*{suffix}"))
    return [p for p in found if p.suffix == suffix and "migrations" not in p.parts]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, package: str) -> set[str]:
    """The modules ``source`` (of ``package``) imports, anywhere in it (a function's too)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            found.add(target)
            found |= {f"{target}.{alias.name}" for alias in node.names}
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every chain of imports that comes back to where it started (a package importing its
    own modules from its __init__ is no circle)."""
    found = []
    for start in graph:
        stack = [[start]]
        while stack:
            path = stack.pop()
            for nxt in graph.get(path[-1], ()):
                if nxt == start:
                    found.append(path + [start])
                elif nxt not in path:
                    stack.append(path + [nxt])
    return [c for c in found
            if not any(a.startswith(b + ".") or b.startswith(a + ".") for a, b in zip(c, c[1:]))]


def upwards(graph: dict[str, set[str]]) -> list[str]:
    """Imports of a package above the importer in LAYERS."""
    def layer(name):
        top = name.split(".")[0]
        return LAYERS.index(top) if top in LAYERS else None

    return sorted(f"{a} imports {b}" for a, targets in graph.items() for b in targets
                  if layer(a) is not None and layer(b) is not None and layer(b) < layer(a))


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in product_files(".py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = {m for m in imports_of(path.read_text(encoding="utf-8"), package)
                       if m in modules and m != name}
    return graph


@pytest.mark.parametrize("suffix", [".py", ".js"])
def test_no_product_file_is_over_400_lines(suffix):
    files = product_files(suffix)
    assert files
    long = {str(p.relative_to(REPO)): n for p in files
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_no_module_imports_itself_round_a_circle(graph):
    assert len(graph) > 50 and circles(graph) == []


def test_imports_run_downwards(graph):
    assert upwards(graph) == []


def test_a_circle_and_an_upward_import_would_be_found():
    """The checks above on a made-up house: they can fail."""
    assert imports_of("from .b import x\ndef f():\n    from . import c\n", "p.q") >= \
        {"p.q.b", "p.q.c"}
    graph = {"sketch_model.a": {"sketch_model.b"}, "sketch_model.b": {"sketch_model.a"},
             "sketch_model": {"sketch_model.a"}, "quickdraw.x": {"web.y"}, "web.y": set()}
    assert sorted(circles(graph)) == [["sketch_model.a", "sketch_model.b", "sketch_model.a"],
                                      ["sketch_model.b", "sketch_model.a", "sketch_model.b"]]
    assert upwards(graph) == ["quickdraw.x imports web.y"]


def test_no_pointer_to_a_design_document_that_is_gone():
    texts = product_files(".py") + product_files(".js")
    texts += sorted((REPO / "tests").rglob("*.py")) + sorted((REPO / "benchmarks").rglob("*.py"))
    stale = [str(p.relative_to(REPO)) for p in texts if p != Path(__file__)
             and "DESIGN" + ".md" in p.read_text(encoding="utf-8")]
    assert stale == []
