"""The ray engine on Ray's multi-node test cluster: a CPU-less head and two worker nodes on this machine."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

ray = pytest.importorskip("ray", reason="the ray extra is part of dev")
import cloudpickle  # noqa: E402  (comes with ray)
from ray.cluster_utils import Cluster  # noqa: E402

from scaledown_core.batch import compress_file  # noqa: E402

from . import _ray_helpers  # noqa: E402
from .conftest import assert_identical, read_jsonl, write_jsonl  # noqa: E402

OBJECT_STORE_BYTES = 80 * 1024 * 1024


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    cloudpickle.register_pickle_by_value(_ray_helpers)  # the test package is not importable on workers
    cloudpickle.register_pickle_by_value(sys.modules[_ray_helpers.__name__.rsplit(".", 1)[0] + ".conftest"])
    if ray.is_initialized():
        ray.shutdown()
    # no CPU on the head: every actor must run on a worker node
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "object_store_memory": OBJECT_STORE_BYTES,
                                                            "include_dashboard": False})
    for _ in range(2):
        cluster.add_node(num_cpus=1, object_store_memory=OBJECT_STORE_BYTES)
    cluster.wait_for_nodes()
    yield cluster
    if ray.is_initialized():
        ray.shutdown()
    cluster.shutdown()


def test_two_worker_nodes_share_the_batch_and_match_in_process(cluster: Cluster, tmp_path: Path,
                                                               records: list[dict[str, Any]],
                                                               expected: list[Any]) -> None:
    folder = tmp_path / "actors"
    folder.mkdir()
    src = write_jsonl(tmp_path / "in.jsonl", records)
    factory = functools.partial(_ray_helpers.recording_compressor, str(folder))
    summary = compress_file(src, tmp_path / "out.jsonl", engine="ray", address=cluster.address,
                            compressor=factory, batch_size=4)
    assert summary.workers == 2  # the cluster's CPUs: one on each worker node
    nodes = {node for _, node in _ray_helpers.actors(folder)}
    workers = {n["NodeID"] for n in ray_nodes(cluster) if n["Resources"].get("CPU")}
    assert nodes == workers and len(nodes) == 2
    assert_identical(read_jsonl(tmp_path / "out.jsonl"), records, expected)
    assert not ray.is_initialized()  # compress_file connected for the run only


def ray_nodes(cluster: Cluster) -> list[dict[str, Any]]:
    ray.init(address=cluster.address)
    try:
        return [n for n in ray.nodes() if n["Alive"]]
    finally:
        ray.shutdown()
