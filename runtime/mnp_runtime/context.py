"""The node's view of its AWS Batch multi-node parallel (MNP) job, parsed from the environment.

AWS Batch sets these variables in every node's container (Batch user guide, "Environment variables" of
multi-node parallel jobs):

- ``AWS_BATCH_JOB_NODE_INDEX``: this node's index, ``0 .. NUM_NODES-1``;
- ``AWS_BATCH_JOB_NUM_NODES``: the number of nodes of the job;
- ``AWS_BATCH_JOB_MAIN_NODE_INDEX``: the index of the main node;
- ``AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS``: the main node's private IPv4 address, set on child
  nodes only.

Parsing is strict: a missing or malformed variable is an error naming it and what was expected, never a
default, because a wrong index silently produces a job whose nodes wait for each other for ever.
"""

from __future__ import annotations

import ipaddress
import os

from mnp_runtime.errors import ConfigError

# typing is imported for type checkers only: at run time it would cost every node's start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

ENV_NODE_INDEX = "AWS_BATCH_JOB_NODE_INDEX"
ENV_NUM_NODES = "AWS_BATCH_JOB_NUM_NODES"
ENV_MAIN_NODE_INDEX = "AWS_BATCH_JOB_MAIN_NODE_INDEX"
ENV_MAIN_ADDRESS = "AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"
ENV_JOB_ID = "AWS_BATCH_JOB_ID"

_FIX_HINT = (
    "(mnp-node runs inside an AWS Batch multi-node parallel job, where Batch sets these variables; "
    "to run it elsewhere, export them yourself)"
)


def parse_ipv4(value: str, *, what: str) -> str:
    """Return `value` as a normalised dotted-quad IPv4 address, or raise ConfigError naming `what`."""
    try:
        return str(ipaddress.IPv4Address(value.strip()))
    except ValueError:
        raise ConfigError(f"{what} is {value!r}: expected an IPv4 address such as 10.0.1.23") from None


def _parse_int(environ: Mapping[str, str], name: str, problems: list[str], *, minimum: int) -> int | None:
    raw = environ.get(name)
    if raw is None:
        problems.append(f"{name} is not set (expected an integer >= {minimum})")
        return None
    text = raw.strip()
    # int() would also accept "+3", "3_000" and non-ASCII digits; Batch writes plain decimal digits.
    if not text.isascii() or not text.isdigit():
        problems.append(f"{name} is {raw!r} (expected an integer >= {minimum})")
        return None
    value = int(text)
    if value < minimum:
        problems.append(f"{name} is {value} (expected an integer >= {minimum})")
        return None
    return value


class NodeContext:
    """Where this node sits in its MNP job (immutable; compare with ``==``).

    A plain class rather than a dataclass: importing dataclasses doubles the package's start-up time,
    which every node of a large job pays.

    Attributes:
        node_index: this node's index (``AWS_BATCH_JOB_NODE_INDEX``).
        num_nodes: the number of nodes in the job (``AWS_BATCH_JOB_NUM_NODES``).
        main_node_index: the main node's index (``AWS_BATCH_JOB_MAIN_NODE_INDEX``).
        main_address: the main node's private IPv4 address; ``None`` on the main node itself, where Batch
            does not set ``AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS``.
        job_id: ``AWS_BATCH_JOB_ID`` when set (``<parent job id>#<node index>`` on MNP nodes), else None.
    """

    __slots__ = ("job_id", "main_address", "main_node_index", "node_index", "num_nodes")

    node_index: int
    num_nodes: int
    main_node_index: int
    main_address: str | None
    job_id: str | None

    def __init__(
        self,
        *,
        node_index: int,
        num_nodes: int,
        main_node_index: int,
        main_address: str | None = None,
        job_id: str | None = None,
    ) -> None:
        if num_nodes < 1:
            raise ConfigError(f"num_nodes is {num_nodes}: expected at least 1")
        for name, value in (("node_index", node_index), ("main_node_index", main_node_index)):
            if not 0 <= value < num_nodes:
                raise ConfigError(f"{name} is {value}: expected 0..{num_nodes - 1} for a {num_nodes}-node job")
        if main_address is None and node_index != main_node_index:
            raise ConfigError(f"a child node needs the main node's address ({ENV_MAIN_ADDRESS})")
        object.__setattr__(self, "node_index", node_index)
        object.__setattr__(self, "num_nodes", num_nodes)
        object.__setattr__(self, "main_node_index", main_node_index)
        object.__setattr__(self, "main_address", main_address)
        object.__setattr__(self, "job_id", job_id)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"NodeContext is immutable: cannot set {name}")

    def _key(self) -> tuple[int, int, int, str | None, str | None]:
        return (self.node_index, self.num_nodes, self.main_node_index, self.main_address, self.job_id)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NodeContext):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"NodeContext(node_index={self.node_index}, num_nodes={self.num_nodes}, "
            f"main_node_index={self.main_node_index}, main_address={self.main_address!r}, job_id={self.job_id!r})"
        )

    @property
    def is_main(self) -> bool:
        """True on the main node, which runs the rendezvous server and usually launches the job."""
        return self.node_index == self.main_node_index

    @property
    def node_rank(self) -> int:
        """A rank that is 0 on the main node and ``1 .. num_nodes-1`` on the children.

        ``torchrun --node_rank`` and similar launchers expect rank 0 on the node that hosts the
        rendezvous store (``--master_addr``), which is the main node; Batch's main node need not be
        index 0, so the index is rotated: ``(node_index - main_node_index) mod num_nodes``.
        """
        return (self.node_index - self.main_node_index) % self.num_nodes

    @property
    def parent_job_id(self) -> str | None:
        """The MNP parent job id (``AWS_BATCH_JOB_ID`` without its ``#<index>`` suffix), if known."""
        if self.job_id is None:
            return None
        return self.job_id.split("#", 1)[0]

    @classmethod
    def from_env(cls, *, environ: Mapping[str, str] | None = None) -> NodeContext:
        """Parse the Batch MNP variables from `environ` (default: ``os.environ``).

        Every problem found is reported at once, in one line, so a misconfigured job definition needs one
        fix-and-retry cycle rather than one per variable.

        Raises:
            ConfigError: a variable is missing or malformed, or the values contradict each other.
        """
        env = os.environ if environ is None else environ
        problems: list[str] = []
        node_index = _parse_int(env, ENV_NODE_INDEX, problems, minimum=0)
        num_nodes = _parse_int(env, ENV_NUM_NODES, problems, minimum=1)
        main_index = _parse_int(env, ENV_MAIN_NODE_INDEX, problems, minimum=0)
        if num_nodes is not None:
            for name, value in ((ENV_NODE_INDEX, node_index), (ENV_MAIN_NODE_INDEX, main_index)):
                if value is not None and value >= num_nodes:
                    problems.append(
                        f"{name} is {value} (expected 0..{num_nodes - 1}, since {ENV_NUM_NODES} is {num_nodes})"
                    )
        main_address: str | None = None
        raw_address = env.get(ENV_MAIN_ADDRESS)
        is_main = node_index is not None and node_index == main_index
        if raw_address is None or raw_address.strip() == "":
            if not is_main and node_index is not None and main_index is not None:
                problems.append(
                    f"{ENV_MAIN_ADDRESS} is not set (expected the main node's IPv4 address on child node {node_index})"
                )
        else:
            try:
                main_address = parse_ipv4(raw_address, what=ENV_MAIN_ADDRESS)
            except ConfigError as exc:
                problems.append(str(exc))
        if problems:
            raise ConfigError("; ".join(problems) + " " + _FIX_HINT)
        assert node_index is not None and num_nodes is not None and main_index is not None
        job_id = env.get(ENV_JOB_ID) or None
        return cls(
            node_index=node_index,
            num_nodes=num_nodes,
            main_node_index=main_index,
            main_address=main_address,
            job_id=job_id,
        )

    def as_dict(self) -> dict[str, object]:
        """The context as plain values (what ``mnp-node env --json`` prints)."""
        return {
            "node_index": self.node_index,
            "num_nodes": self.num_nodes,
            "main_node_index": self.main_node_index,
            "is_main": self.is_main,
            "node_rank": self.node_rank,
            "main_address": self.main_address,
            "job_id": self.job_id,
            "parent_job_id": self.parent_job_id,
        }
