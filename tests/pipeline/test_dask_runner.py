"""The build on Beam's Dask runner: same bytes as the direct runner, clear errors, worker loss."""

import hashlib
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from crawl2gpt.pipeline.build import run_build
from crawl2gpt.pipeline.config import load_build_config
from crawl2gpt.pipeline.dask_cluster import DaskClusterError, check_scheduler, runner_args
from tests.pipeline.test_build import long_line, write_config

REPO = Path(__file__).resolve().parents[2]
import distributed  # noqa: E402 - a main dependency (the Dask runner)


def tree_hashes(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture(autouse=True)
def _run_from_repo_root(monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("PYTHONPATH", str(REPO))


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as c:
        yield c


def test_unreachable_scheduler_fails_fast():
    start = time.monotonic()
    with pytest.raises(DaskClusterError, match="127.0.0.1:9"):
        check_scheduler("tcp://127.0.0.1:9", timeout_s=2)
    assert time.monotonic() - start < 10


def test_dask_output_equals_direct_runner(tmp_path, cluster):
    config = load_build_config(str(write_config(tmp_path)))
    direct = run_build(config, str(tmp_path / "direct")).manifest
    dask = run_build(config, str(tmp_path / "dask"), runner_args(cluster.scheduler_address))
    assert tree_hashes(tmp_path / "direct") == tree_hashes(tmp_path / "dask")
    shard_rows = sum(s["rows"] for s in dask.manifest["sources"]["web"]["shards"])
    assert shard_rows == dask.manifest["sources"]["web"]["documents"] == \
        direct["sources"]["web"]["documents"] == 6


def test_killed_worker_is_rescheduled_or_fails_clearly(tmp_path, cluster):
    files = {"a.txt": [long_line(1), "SLEEP 4", long_line(2)], "b.txt": [long_line(3)],
             "c.txt": ["SLEEP 4", long_line(4)]}
    config = load_build_config(str(write_config(tmp_path, files=files)))
    expected = run_build(config, str(tmp_path / "direct"))
    client = distributed.Client(cluster.scheduler_address)
    pids = list(client.run(os.getpid).values())
    client.close()
    killer = threading.Timer(2.0, os.kill, (pids[0], signal.SIGKILL))
    killer.start()
    try:
        result = run_build(config, str(tmp_path / "dask"), runner_args(cluster.scheduler_address))
    except Exception as e:  # a clear failure is acceptable, a wrong manifest is not
        assert not (tmp_path / "dask" / "manifest.json").exists(), e
        return
    finally:
        killer.join()
    assert result.manifest["sources"] == expected.manifest["sources"]
    assert tree_hashes(tmp_path / "dask") == tree_hashes(tmp_path / "direct")


def test_demo_build_with_every_stage_on_dask_equals_direct(tmp_path, cluster):
    """The demo's full build (all stages, tokens, clean/dirty split) gives the same bytes."""
    from crawl2gpt.demo.run import run_demo
    demo = run_demo(str(tmp_path), [], [], train=False)
    config = load_build_config(str(tmp_path / "demo-build.toml"))
    assert config.stages and config.tokenize is not None
    dask = run_build(config, str(tmp_path / "dask"), runner_args(cluster.scheduler_address))
    assert tree_hashes(tmp_path / "build") == tree_hashes(tmp_path / "dask")
    # The manifest's counts equal the rows actually in the shards.
    import pyarrow.parquet as pq
    for name, src in dask.manifest["sources"].items():
        rows = sum(pq.ParquetFile(tmp_path / "dask" / s["path"]).metadata.num_rows
                   for s in src["shards"])
        assert rows == src["documents"] == demo.build.manifest["sources"][name]["documents"] > 0
