"""Project-wide design rules, checked on the code itself (syntax trees, not text search).

1. No Beam construct that Beam's Dask runner (apache-beam 2.77) gets wrong (docs/scaling.md):
   tagged outputs (`with_outputs`, `TaggedOutput`, `beam.Partition`) are not split, and outputs
   of `finish_bundle` (which `BatchElements` uses) are lost. Use `(tag, value)` pairs with
   `crawl2gpt.core.beam_utils.SplitByTag`, and per-element or grouped work instead.
2. Plain-Python cores do not import `apache_beam`, directly or through other modules. Every
   module of the base layer and the stage packages is a core unless `BEAM_MODULES` names it
   (a composite `PTransform`, or glue that reads builds through Beam's FileSystems).
3. No Python file is longer than 600 lines.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Folders of the packages that build pipelines, and their import names.
BEAM_PACKAGES = {"core": "crawl2gpt.core", "pipeline": "crawl2gpt.pipeline",
                 "quality_filter": "crawl2gpt.quality_filter", "dedup": "crawl2gpt.dedup",
                 "mixing": "crawl2gpt.mixing"}
# Beam attributes/names that break on the Dask runner, and why.
FORBIDDEN_NAMES = {
    "with_outputs": "tagged outputs are not split on Dask; yield (tag, value) and SplitByTag",
    "TaggedOutput": "tagged outputs are not split on Dask; yield (tag, value) and SplitByTag",
    "BatchElements": "emits its last batch in finish_bundle, lost on Dask",
}
FORBIDDEN_BEAM_ATTRS = {
    "Partition": "outputs are not split on Dask; yield (tag, value) and SplitByTag",
}
BEAM_MODULE_NAMES = {"beam", "apache_beam"}
# The modules that may use Beam: composites, the build job and Beam-FileSystems glue. Every
# other module of BEAM_PACKAGES is a plain-Python core.
BEAM_MODULES = {
    "core": {"beam_utils.py", "manifest.py", "key_files.py", "files.py"},
    "pipeline": {"build.py", "checkpoints.py", "dask_cluster.py", "incremental.py", "passes.py",
                 "funnel.py", "parts.py", "transforms.py", "manifest.py"},
    "quality_filter": {"transforms.py", "heuristics_transforms.py", "train_transforms.py",
                       "takedown.py", "takedown_tokens.py", "cli.py"},
    "dedup": {"transforms.py", "contamination_transforms.py", "incremental.py", "keyed.py"},
    "mixing": {"transforms.py", "cli.py"},
}
MAX_LINES = 600


def python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (REPO / folder).rglob("*.py"))


def core_modules() -> list[Path]:
    return [p for folder in BEAM_PACKAGES for p in python_files(folder)
            if p.parent != REPO / folder or p.name not in BEAM_MODULES[folder]]


def where(path: Path, node: ast.AST) -> str:
    shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    return f"{shown}:{node.lineno}"


def runner_violations(path: Path) -> list[str]:
    """`file:line: construct (why)` for each construct of rule 1 in the code of `path`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                and node.name == "finish_bundle":
            found.append(f"{where(path, node)}: def finish_bundle (its outputs are lost on Dask)")
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_NAMES:
            found.append(f"{where(path, node)}: .{node.attr} ({FORBIDDEN_NAMES[node.attr]})")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            found.append(f"{where(path, node)}: {node.id} ({FORBIDDEN_NAMES[node.id]})")
        elif isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_BEAM_ATTRS \
                and isinstance(node.value, ast.Name) and node.value.id in BEAM_MODULE_NAMES:
            found.append(f"{where(path, node)}: {node.value.id}.{node.attr} "
                         f"({FORBIDDEN_BEAM_ATTRS[node.attr]})")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("apache_beam"):
            for alias in node.names:
                why = FORBIDDEN_NAMES.get(alias.name) or FORBIDDEN_BEAM_ATTRS.get(alias.name)
                if why:
                    found.append(f"{where(path, node)}: import {alias.name} ({why})")
    return sorted(found, key=lambda v: int(v.split(":")[1]))


def beam_imports(path: Path) -> list[str]:
    """`file:line: import ...` for each import of apache_beam anywhere in `path`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        found += [f"{where(path, node)}: imports {name}" for name in names
                  if name == "apache_beam" or name.startswith("apache_beam.")]
    return found


def module_name(path: Path) -> str:
    """The import name of a file of one of BEAM_PACKAGES (`core/records.py` →
    `crawl2gpt.core.records`)."""
    folder, *parts = path.relative_to(REPO).with_suffix("").parts
    parts = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join([BEAM_PACKAGES[folder], *parts])


def test_the_rule_checks_find_what_they_should(tmp_path):
    """The checks themselves: each construct is found in code, none in a docstring."""
    sample = tmp_path / "sample.py"
    code = '''"""Mentions with_outputs( and TaggedOutput, beam.Partition and def finish_bundle."""
import apache_beam as beam
from apache_beam.pvalue import TaggedOutput
# beam.BatchElements in a comment is fine
class F(beam.DoFn):
    def finish_bundle(self):
        yield TaggedOutput("x", 1)
        yield beam.pvalue.TaggedOutput("y", 2)
def f(p):
    p | beam.ParDo(F()).with_outputs("x") | beam.Partition(len, 2) | beam.BatchElements()
'''
    sample.write_text(code, encoding="utf-8")
    found = runner_violations(sample)
    lines = sorted((int(v.split(":")[1]), v.split(": ")[1].split(" (")[0]) for v in found)
    assert lines == [(3, "import TaggedOutput"), (6, "def finish_bundle"), (7, "TaggedOutput"),
                     (8, ".TaggedOutput"), (10, ".BatchElements"), (10, ".with_outputs"),
                     (10, "beam.Partition")]
    imports = beam_imports(sample)
    assert [int(v.split(":")[1]) for v in imports] == [2, 3]


def test_no_construct_that_the_dask_runner_gets_wrong():
    violations = [v for path in python_files(*BEAM_PACKAGES) for v in runner_violations(path)]
    assert not violations, "Dask-runner rule broken:\n" + "\n".join(violations)


def test_cores_do_not_import_beam():
    cores = core_modules()
    assert len(cores) > 40  # the listed folders were found
    direct = [v for path in cores for v in beam_imports(path)]
    assert not direct, "core modules importing apache_beam:\n" + "\n".join(direct)


# Imports every core in a fresh interpreter; prints the chain of our modules that was being
# imported when apache_beam was first asked for (nothing when it never was).
SPY_MARK = "apache_beam imported through: "
IMPORT_SPY = """
import sys, traceback
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name == "apache_beam":
            names = [f.f_globals.get("__name__") or "" for f, _ in traceback.walk_stack(None)]
            ours = [n for n in reversed(names) if n.startswith("crawl2gpt.")]
            print(MARK + " -> ".join(dict.fromkeys(ours)))
            sys.meta_path.remove(self)
sys.meta_path.insert(0, Spy())
for name in CORES:
    __import__(name)
"""


def test_cores_do_not_pull_in_beam_through_other_modules():
    names = [module_name(p) for p in core_modules()]
    script = f"CORES = {names!r}\nMARK = {SPY_MARK!r}\n" + IMPORT_SPY
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                         text=True, check=True)
    chains = [line for line in out.stdout.splitlines() if line.startswith(SPY_MARK)]
    assert not chains, f"a core imports apache_beam indirectly: {chains}"


def test_no_python_file_is_too_long():
    too_long = []
    for folder, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # .venv, .git, tool caches
        for path in (Path(folder) / f for f in files if f.endswith(".py")):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_LINES:
                too_long.append(f"{path.relative_to(REPO)}: {lines} lines")
    assert not too_long, f"files over {MAX_LINES} lines:\n" + "\n".join(too_long)
