"""Beam on Dask: connect to an existing scheduler or start a local cluster for one build.

`dask_runner(scheduler=ADDR)` checks that the scheduler answers (a clear error within seconds
otherwise); `dask_runner(workers=N)` starts N worker processes and shuts them down cleanly after
the run. Both yield the Beam options that select Beam's DaskRunner on that cluster.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Iterator

DASK_RUNNER = "apache_beam.runners.dask.dask_runner.DaskRunner"
CONNECT_TIMEOUT_S = 5


class DaskClusterError(RuntimeError):
    """The Dask scheduler cannot be reached or the local cluster cannot start."""


def check_scheduler(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Connect once to `address`; raise DaskClusterError naming it if nothing answers."""
    from distributed import Client
    try:
        client = Client(address, timeout=timeout_s)
    except (OSError, TimeoutError) as e:
        raise DaskClusterError(f"Dask scheduler at {address} did not answer within "
                               f"{timeout_s:.0f} s: {e}") from None
    client.close()


def runner_args(address: str, partition_size: int | None = None) -> list[str]:
    args = ["--runner", DASK_RUNNER, "--dask_client_address", address,
            "--dask_connection_timeout", str(CONNECT_TIMEOUT_S)]
    if partition_size:
        args += ["--dask_partition_size", str(partition_size)]
    return args


@contextlib.contextmanager
def dask_runner(scheduler: str | None = None, workers: int | None = None,
                partition_size: int | None = None,
                worker_memory: str | None = None) -> Iterator[list[str]]:
    """Beam options for the DaskRunner on an existing or a local cluster (closed afterwards);
    `worker_memory` ("4GB") is a local cluster's memory budget per worker (Dask spills, pauses
    and restarts workers by it; docs/scaling.md)."""
    if scheduler:
        check_scheduler(scheduler)
        yield runner_args(scheduler, partition_size)
        return
    from distributed import LocalCluster
    logging.getLogger("distributed").setLevel(logging.ERROR)
    cluster = LocalCluster(n_workers=workers or 2, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR,
                           memory_limit=worker_memory or "auto")
    try:
        yield runner_args(cluster.scheduler_address, partition_size)
    finally:
        cluster.close()
