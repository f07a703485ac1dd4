"""Facts an outside interface forces to be written twice, checked to agree.

The watchdog Lambda is deployed on its own (its zip holds only ``constructs_lib/lambda_src/watchdog``), and
``mnp_runtime`` is installed alone into job images (standard library, no ``mnp_toolkit``): each keeps its own
copy of a few AWS Batch facts. Everything else reads them from ``mnp_toolkit.core``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from mnp_runtime import context
from mnp_toolkit.core import limits, node_groups
from mnp_toolkit.ops import status

REPO = Path(__file__).resolve().parent.parent


def _watchdog_handler() -> ModuleType:
    path = REPO / "constructs_lib" / "lambda_src" / "watchdog" / "index.py"
    spec = importlib.util.spec_from_file_location("watchdog_handler_copy", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_watchdog_lambda_uses_the_cores_batch_limits() -> None:
    handler = _watchdog_handler()
    assert handler.MAX_REASON_LENGTH == limits.MAX_STOP_REASON_LENGTH
    assert handler.DESCRIBE_BATCH == limits.MAX_DESCRIBE_JOBS
    assert handler.ENDED == status.TERMINAL_STATUSES


def test_the_runtime_reads_the_variables_batch_sets() -> None:
    pairs = {
        context.ENV_NODE_INDEX: node_groups.ENV_NODE_INDEX,
        context.ENV_NUM_NODES: node_groups.ENV_NUM_NODES,
        context.ENV_MAIN_NODE_INDEX: node_groups.ENV_MAIN_NODE_INDEX,
        context.ENV_MAIN_ADDRESS: node_groups.ENV_MAIN_NODE_ADDRESS,
        context.ENV_JOB_ID: node_groups.ENV_JOB_ID,
    }
    assert all(runtime == core for runtime, core in pairs.items()), pairs
