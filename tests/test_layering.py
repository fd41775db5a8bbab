"""One direction of dependencies (docs/architecture.md), checked on the import statements.

Every package of the installed `crawl2gpt` has a layer; a module may import its own package and
packages of lower layers only, never one beside or above it, so the import graph has no cycle.
Imports inside functions count too: a lazy import is still a dependency. Project imports use
the installed name (`crawl2gpt.…`), never a folder name, which would not exist once installed.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Import name → layer. Base, then the stages, the trainer and the evaluator, the build job,
# the applications on top.
LAYERS = {
    "crawl2gpt.core": 0,
    "crawl2gpt.mixing": 1,
    "crawl2gpt.dedup": 1,
    "crawl2gpt.training": 1,
    "crawl2gpt.quality_filter": 2,
    "crawl2gpt.evaluation": 2,
    "crawl2gpt.pipeline": 3,
    "crawl2gpt.reports": 4,
    "crawl2gpt.demo": 5,
    "crawl2gpt.experiments": 6,
    "crawl2gpt.inspect_cli": 7,
    "crawl2gpt.cli": 8,
    "crawl2gpt": 9,  # the package's own __init__: imports nothing of ours
}
FOLDER_NAMES = ("core", "pipeline", "quality_filter", "dedup", "mixing", "training",
                "evaluation", "experiments", "reports", "demo")


def package_dirs() -> dict[str, Path]:
    with open(REPO / "pyproject.toml", "rb") as f:
        mapping = tomllib.load(f)["tool"]["setuptools"]["package-dir"]
    return {name: REPO / folder for name, folder in mapping.items()}


def unit_of(module: str) -> str | None:
    """The layered unit a dotted module name belongs to (None: not ours)."""
    parts = module.split(".")
    if parts[0] != "crawl2gpt":
        return None
    return "crawl2gpt" if len(parts) == 1 else f"crawl2gpt.{parts[1]}"


def modules() -> list[tuple[str, Path]]:
    """(import name, file) of every module of the installed package."""
    return sorted((".".join([name, *path.relative_to(folder).with_suffix("").parts]), path)
                  for name, folder in package_dirs().items() for path in folder.rglob("*.py"))


def shown(path: Path) -> str:
    return str(path.relative_to(REPO) if path.is_relative_to(REPO) else path)


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "crawl2gpt":
            found += [(node.lineno, f"crawl2gpt.{a.name}") for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def upward_imports(files: list[tuple[str, Path]]) -> list[str]:
    """`file:line: A (layer a) imports B (layer b)` for each import not strictly downwards."""
    wrong = []
    for module, path in files:
        src = unit_of(module.removesuffix(".__init__"))
        for line, name in imports_of(path):
            dst = unit_of(name)
            if dst is None or dst == src:
                continue
            if dst not in LAYERS or LAYERS[dst] >= LAYERS[src]:
                wrong.append(f"{shown(path)}:{line}: {src} (layer {LAYERS[src]}) "
                             f"imports {name} (layer {LAYERS.get(dst, '?')})")
    return wrong


def test_every_unit_has_a_layer():
    units = {unit_of(m.removesuffix(".__init__")) for m, _ in modules()}
    assert units == set(LAYERS), f"give these a layer: {sorted(units - set(LAYERS))}"


def test_imports_only_go_down():
    wrong = upward_imports(modules())
    assert not wrong, "imports that go sideways or up:\n" + "\n".join(wrong)


def test_project_imports_use_the_installed_name():
    bare = [f"{shown(path)}:{line}: import {name}"
            for folder in [*package_dirs().values(), REPO / "tests", REPO / "bench"]
            for path in sorted(folder.rglob("*.py"))
            for line, name in imports_of(path) if name.split(".")[0] in FOLDER_NAMES]
    assert not bare, "import by folder name (missing once installed):\n" + "\n".join(bare)


@pytest.mark.parametrize("source, found", [
    ("from crawl2gpt.pipeline.build import run_build\n", 1),   # up from the base
    ("def f():\n    import crawl2gpt.cli\n", 1),              # lazy, still counted
    ("from crawl2gpt.core.records import Document\n", 0),      # own package
    ("from crawl2gpt import demo\n", 1),                       # via the parent package
    ("import json\n", 0),
])
def test_the_check_finds_upward_imports(tmp_path, source, found):
    path = tmp_path / "sample.py"
    path.write_text(source, encoding="utf-8")
    assert len(upward_imports([("crawl2gpt.core.sample", path)])) == found
