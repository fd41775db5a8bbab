"""Issue 22, row 8: a crash at any step of the commit leaves the old or the new build complete.

The commit of a second build over a first is replayed from a snapshot of the output folder
taken just before it, crashing at the 1st, 2nd, ... file-system change, until it runs through.
After each crash the folder is read the way readers read it: through the manifest.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
from apache_beam.io.filesystems import FileSystems

import crawl2gpt.core.manifest
import crawl2gpt.pipeline.build
from crawl2gpt.core.manifest import JOURNAL_NAME, commit_build, iter_build_documents
from crawl2gpt.pipeline.build import run_build
from crawl2gpt.pipeline.config import load_build_config
from tests.pipeline.test_build import long_line, write_config


class Crash(Exception):
    pass


class CrashingFileSystems:
    """FileSystems whose `changes`-th change (create, rename, delete, mkdirs) raises Crash."""

    def __init__(self, changes: int):
        self.left = changes

    def __getattr__(self, name):
        real = getattr(FileSystems, name)
        if name not in ("create", "rename", "delete", "mkdirs"):
            return real

        def change(*args, **kwargs):
            if self.left == 0:
                raise Crash(name)
            self.left -= 1
            return real(*args, **kwargs)
        return change


def texts_and_check(out) -> tuple[dict, set[str]]:
    """The manifest and document texts a reader sees; every shard matches its sha256."""
    manifest_path = str(out / "manifest.json")
    texts = {d.text for d in iter_build_documents(manifest_path)}
    manifest = json.loads((out / "manifest.json").read_text())
    for shard in manifest["sources"]["web"]["shards"] + manifest["rejected_shards"]:
        assert hashlib.sha256((out / shard["path"]).read_bytes()).hexdigest() == shard["sha256"]
    return manifest, texts


@pytest.fixture
def staged(tmp_path, monkeypatch):
    """(output folder, its snapshot before the second commit, that commit's arguments)."""
    config_path = write_config(tmp_path)
    out = tmp_path / "out"
    run_build(load_build_config(str(config_path)), str(out))
    old = texts_and_check(out)
    (tmp_path / "data" / "c.txt").write_text(long_line(9) + "\n")
    (tmp_path / "data" / "a.txt").unlink()
    captured = {}

    def snapshot(*args, **kwargs):
        shutil.copytree(out, tmp_path / "snapshot")
        captured.update(args=args, kwargs=kwargs)
        raise Crash("before the commit")
    monkeypatch.setattr(crawl2gpt.pipeline.build, "commit_build", snapshot)
    with pytest.raises(Crash):
        run_build(load_build_config(str(config_path)), str(out))
    return out, tmp_path / "snapshot", captured, old


def test_a_crash_at_every_step_of_the_commit(staged, monkeypatch):
    out, snapshot, captured, (old_manifest, old_texts) = staged
    new_texts = {long_line(i).strip() for i in (5, 6, 2, 9)}   # b.txt's and c.txt's lines
    assert old_texts != new_texts
    outcomes = []
    for changes in range(100):
        shutil.rmtree(out)
        shutil.copytree(snapshot, out)
        monkeypatch.setattr(crawl2gpt.core.manifest, "FileSystems", CrashingFileSystems(changes))
        try:
            commit_build(*captured["args"], **captured["kwargs"])
            crashed = False
        except Crash:
            crashed = True
        monkeypatch.setattr(crawl2gpt.core.manifest, "FileSystems", FileSystems)
        committed = (out / JOURNAL_NAME).exists() or not crashed
        manifest, texts = texts_and_check(out)
        assert texts == (new_texts if committed else old_texts), changes
        assert (manifest == old_manifest) != committed
        assert not (out / JOURNAL_NAME).exists()              # the reader finished the commit
        assert not committed or not list(out.glob("_staging-*"))
        outcomes.append(committed)
        if not crashed:
            break
    # crashes before the journal keep the old build; after it, readers finish the new one
    assert outcomes[-1] and not outcomes[0] and outcomes == sorted(outcomes)
    assert len(outcomes) > 5
