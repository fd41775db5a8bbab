"""What a user installs: one import name, every package in the wheel and in both images, and
every command the README shows answering `--help`."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from crawl2gpt.cli import main

REPO = Path(__file__).resolve().parents[1]
DOCKERFILES = ["docker/Dockerfile.worker", "docker/Dockerfile.train"]


def setuptools_config() -> dict:
    with open(REPO / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["setuptools"]


def packages_on_disk() -> set[str]:
    """Every folder with an `__init__.py` below a mapped folder, by its installed name."""
    found = set()
    for name, folder in setuptools_config()["package-dir"].items():
        for init in (REPO / folder).rglob("__init__.py"):
            found.add(".".join([name, *init.parent.relative_to(REPO / folder).parts]))
    return found


def test_pyproject_lists_every_package():
    assert set(setuptools_config()["packages"]) == packages_on_disk()


def test_the_wheel_adds_one_top_level_name(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(REPO)], check=True, cwd=tmp_path)
    (wheel,) = tmp_path.glob("crawl2gpt-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"crawl2gpt"}
    modules = {n.removesuffix(".py").replace("/", ".") for n in names if n.endswith(".py")}
    assert {"crawl2gpt.cli", "crawl2gpt.core.records", "crawl2gpt.pipeline.build",
            "crawl2gpt.demo.run", "crawl2gpt.experiments.cli"} <= modules
    assert "crawl2gpt/evaluation/tasks/multiple_choice.toml" in names
    assert "crawl2gpt/demo/assets/english.json" in names


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_every_package_folder_is_in_the_image(dockerfile):
    copied = set(re.findall(r"^COPY (\S+) \./\1$", (REPO / dockerfile).read_text(), re.M))
    assert copied == set(setuptools_config()["package-dir"].values())


def readme_commands() -> list[list[str]]:
    """The distinct command words of every `crawl2gpt …` and `-m crawl2gpt.…` the README shows,
    up to the first option (e.g. ["inspect", "build"], ["train"])."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    found = set()
    for match in re.finditer(r"crawl2gpt ([a-z][a-z-]*(?: [a-z][a-z-]*)?)", text):
        words = match.group(1).split()
        found.add(tuple(words) if words[0] == "inspect" else (words[0],))
    for module in re.findall(r"-m (crawl2gpt\.[\w.]+)", text):
        found.add(("-m", module))
    return [list(w) for w in sorted(found)]


def test_the_readme_shows_the_main_commands():
    words = {" ".join(w) for w in readme_commands()}
    assert {"build", "demo", "inspect build", "inspect doc", "train", "eval",
            "-m crawl2gpt.training.train"} <= words


@pytest.mark.parametrize("words", readme_commands(), ids=" ".join)
def test_each_readme_command_answers_help(words):
    if words[0] == "-m":
        out = subprocess.run([sys.executable, "-m", words[1], "--help"], capture_output=True,
                             text=True, cwd=REPO)
        assert out.returncode == 0, out.stderr
        assert "usage:" in out.stdout
        return
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), pytest.raises(SystemExit) as exit_:
        main([*words, "--help"])
    assert exit_.value.code == 0
    assert stdout.getvalue().startswith("usage:"), stdout.getvalue()[:200]


def test_the_installed_command_starts():
    command = Path(sys.executable).parent / "crawl2gpt"
    out = subprocess.run([str(command), "--help"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "build" in out.stdout and "inspect" in out.stdout
