"""256 nodes, each its own process, on loopback: the rendezvous at a realistic job size.

On a 2-core machine this takes about 6-10 s (more when other work loads the machine), almost all of it
the start-up of 256 interpreters (about 40-50 ms of CPU each).
"""

from __future__ import annotations

import random
from pathlib import Path

from tests.mnp_runtime.nodes import Cluster

NUM_NODES = 256


def test_256_nodes_in_random_order_all_write_the_same_hostfile(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, num_nodes=NUM_NODES, main_index=17)
    order = list(range(NUM_NODES))
    random.Random(256).shuffle(order)
    try:
        # The main node starts somewhere in the middle: some children are early, some late.
        for index in order:
            cluster.start(index, timeout=120, verbose=False)
        codes = {node.index: node.wait(timeout=180) for node in cluster.nodes}
    finally:
        cluster.kill_all()
    failed = {n.index: n.stderr for n in cluster.nodes if codes[n.index] != 0}
    assert failed == {}
    expected = cluster.expected_hostfile()
    assert len(expected.splitlines()) == NUM_NODES
    assert {node.hostfile.read_text() for node in cluster.nodes} == {expected}
