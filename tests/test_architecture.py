"""The house rules a reader of the code relies on, checked on the code itself: no import circle in
``graph/`` (a module's imports, at its top or inside its functions, never lead back to it), and no
code comment or docstring that carries a timing (the figures live in docs/performance.md)."""

from __future__ import annotations

import ast
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("graph", "service")


def _modules(package: str) -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of ``modules`` that ``name`` imports, anywhere but under ``if TYPE_CHECKING``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(node) for block in ast.walk(tree)
                   if isinstance(block, ast.If) and getattr(block.test, "id", "") == "TYPE_CHECKING"
                   for node in ast.walk(block)}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            submodules = {f"{base}.{alias.name}" for alias in node.names} & modules.keys()
            targets |= submodules or {base}
    return {t for t in targets if t in modules and t != name}


def _circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(edges[module]):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return circles


def test_no_import_circle() -> None:
    for package in PACKAGES:
        modules = _modules(package)
        edges = {name: _imports(name, path, modules) for name, path in modules.items()}
        assert _circles(edges) == [], f"import circles in {package}/"


def test_the_circle_finder_finds_one() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# a number with a unit of time or memory, or a speed-up: the kind of figure that goes stale
TIMING = re.compile(r"(?<![\w.])\d[\d,.]*\s?(?:ms|µs|us|s|sec|seconds?|minutes?|MB|GB|KB|%)(?![\w])"
                    r"|\b\d+(?:\.\d+)?x (?:faster|slower)\b|~\d")


def _comment_texts(path: Path) -> list[tuple[int, str]]:
    """Each comment and docstring of ``path`` with its line."""
    texts = []
    with path.open("rb") as source:
        for token in tokenize.tokenize(source.readline):
            if token.type == tokenize.COMMENT:
                texts.append((token.start[0], token.string))
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                texts.append((node.body[0].lineno, doc))
    return texts


def test_no_comment_carries_a_timing() -> None:
    found = [f"{path.relative_to(ROOT)}:{line}: {match.group(0)!r}"
             for package in PACKAGES for path in _modules(package).values()
             for line, text in _comment_texts(path) for match in TIMING.finditer(text)]
    assert found == [], "figures belong in docs/performance.md:\n" + "\n".join(found)


def test_the_timing_finder_finds_one() -> None:
    assert TIMING.search("took ~1.5 ms") and TIMING.search("(0.3-0.4 s for a wave)")
    assert not TIMING.search("RFC 9110 section 12") and not TIMING.search("sha256")
