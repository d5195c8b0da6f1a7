"""The house's shape, checked from the code's own syntax (issue #21): packages in layers whose
imports point only down, no import circles, no class over 350 lines, no module over 600 lines of
code (catalogues aside).

How it measures (rerun it with `python -m tests.test_architecture`):
- A class's size is `end_lineno - lineno + 1` of its `ast.ClassDef` (docstring and blank lines in).
- A module's size is its lines of code: lines that are neither blank nor only a comment
  (docstrings count: they are read like code).
- Imports are every `import`/`from ... import` of a `kling_ui` module anywhere in the file, in
  functions and under `if TYPE_CHECKING:` too: a type-only import still ties two modules.
  An import of a package counts as an import of its `__init__`.
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "kling_ui"

MAX_CLASS_LINES = 350
MAX_MODULE_CODE = 600
# Catalogues are data, not code: long because there are many strings. The i18n catalogues are
# JSON files (kling_ui/i18n/*.json), never measured; a Python module that is only a catalogue
# would be named here.
CATALOGUES: frozenset[str] = frozenset()

# Lowest first. A module may import from its own layer and the layers below it, never above.
# Within a layer, packages may import each other (core's rules carry i18n message ids, and the
# i18n helpers build core's `Problem`); the circle check still forbids loops between modules.
LAYERS: list[set[str]] = [
    {"core", "i18n"},
    {"media", "hosting"},
    {"replicate", "library"},
    {"finishing"},
    {"runs"},
    {"ui"},
]
LAYER_OF = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The kling_ui modules `name` imports (resolved: `from . import x` is module `x` if it is one)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("kling_ui"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("kling_ui"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
    return {m for m in found if m in known and m != name}


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def package_of(module: str) -> str | None:
    """`kling_ui.runs.service` -> "runs"; the root package (`kling_ui`, its version) -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def code_lines(source: str) -> int:
    """Lines holding code: not blank and not only a comment."""
    comment_only: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comment_only.add(tok.start[0])
    lines = source.splitlines()
    return sum(1 for i, line in enumerate(lines, 1)
               if line.strip() and not (i in comment_only and line.strip().startswith("#")))


def class_sizes(source: str) -> list[tuple[str, int]]:
    """Each class in `source` and its lines (`end_lineno - lineno + 1`)."""
    return [(node.name, (node.end_lineno or node.lineno) - node.lineno + 1)
            for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ClassDef)]


def big_classes() -> list[tuple[str, int]]:
    out = []
    for name, path in modules().items():
        for cls, size in class_sizes(path.read_text(encoding="utf-8")):
            if size > MAX_CLASS_LINES:
                out.append((f"{name}.{cls}", size))
    return out


def big_modules() -> list[tuple[str, int]]:
    out = []
    for name, path in modules().items():
        size = code_lines(path.read_text(encoding="utf-8"))
        if size > MAX_MODULE_CODE and name not in CATALOGUES:
            out.append((name, size))
    return out


def upward_imports(g: dict[str, set[str]] | None = None) -> list[str]:
    out = []
    for name, deps in (graph() if g is None else g).items():
        here = package_of(name)
        for dep in deps:
            there = package_of(dep)
            if here is None or there is None:
                continue  # the root package holds only the version
            if here not in LAYER_OF or there not in LAYER_OF:
                out.append(f"{name} -> {dep}: a package not in LAYERS")
            elif LAYER_OF[there] > LAYER_OF[here]:
                out.append(f"{name} -> {dep}: {here} may not import {there}")
    return sorted(out)


def circles(g: dict[str, set[str]] | None = None) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), as sorted names."""
    g = graph() if g is None else g
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def test_every_package_is_in_a_layer_and_says_what_it_may_import():
    for path in sorted(p for p in PKG.iterdir() if (p / "__init__.py").exists()):
        assert path.name in LAYER_OF, f"kling_ui/{path.name} is in no layer of LAYERS"
        doc = ast.get_docstring(ast.parse((path / "__init__.py").read_text(encoding="utf-8")))
        assert doc and "import" in doc, f"kling_ui/{path.name}/__init__.py: say what it may import"


def test_imports_point_only_down_the_layers():
    assert upward_imports() == []


def test_no_import_circles():
    assert circles() == []


def test_no_class_over_350_lines():
    assert big_classes() == []


def test_no_module_over_600_lines_of_code():
    assert big_modules() == []


def test_the_checks_catch_what_they_are_for():
    """A check that cannot fail is a defect: each one sees a planted case."""
    assert code_lines('# only a comment\n\nx = 1  # code\n"""doc"""\n') == 2
    big = "class Big:\n" + "    x = 1\n" * MAX_CLASS_LINES
    assert class_sizes(big) == [("Big", MAX_CLASS_LINES + 1)]
    planted = {"kling_ui.core.rules": {"kling_ui.runs.pool"}, "kling_ui.runs.pool": set(),
               "kling_ui.runs.a": {"kling_ui.runs.b"}, "kling_ui.runs.b": {"kling_ui.runs.a"},
               "kling_ui.ui.page": {"kling_ui.core.rules"}}
    assert upward_imports(planted) == [
        "kling_ui.core.rules -> kling_ui.runs.pool: core may not import runs"]
    assert circles(planted) == [["kling_ui.runs.a", "kling_ui.runs.b"]]
    # and the real graph is read: the UI imports the service, the service the library
    g = graph()
    assert "kling_ui.runs.service" in g["kling_ui.ui.common"]
    assert "kling_ui.library.store" in g["kling_ui.runs.service"]


if __name__ == "__main__":
    print("classes over", MAX_CLASS_LINES, big_classes())
    print("modules over", MAX_MODULE_CODE, big_modules())
    print("upward", upward_imports())
    print("circles", circles())
