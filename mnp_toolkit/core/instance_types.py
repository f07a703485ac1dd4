"""Instance-type facts (vCPUs, memory, architecture, GPUs, EFA) used by the rule pack and the constructs.

The facts ship as ``data/instance_types.json`` and can be regenerated from a real account with
``python -m scripts.instance_types_refresh``. An instance type the table does not know (a type newer
than the table) is *unknown*: callers must treat that as "cannot verify", never as a violation.

Memory available to containers
------------------------------
AWS Batch places a job only where the ECS agent registered enough memory, and the agent registers what the
operating system reports, not the installed size ("Compute resource memory management", AWS Batch user
guide): an ``m4.large`` with 8 GiB installed reports 8,373,026,816 bytes (7,985 MiB), and the Batch AMI
reserves another 32 MiB for the agent ("Reserve system memory"). We model that overhead as the documented
example's ratio (7,985 / 8,192) and subtract the 32 MiB reservation; the result,
:pyattr:`InstanceTypeFacts.schedulable_memory_mib`, is the most a job can ask for and still be placed.
Asking for more leaves the job in RUNNABLE for ever (rule MNP015). The default a construct gives a node,
:pyattr:`InstanceTypeFacts.container_memory_mib`, also keeps the 5 % buffer that the same guide recommends
for system processes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

Architecture = Literal["x86_64", "arm64"]

#: Memory the Batch ECS-optimized AMI reserves for the ECS agent (ECS_RESERVED_MEMORY default).
ECS_RESERVED_MEMORY_MIB = 32
#: Share of installed memory the OS reports, from the documented m4.large example (7,985 of 8,192 MiB).
OS_VISIBLE_MEMORY_RATIO = 7985 / 8192
#: Buffer the Batch guide recommends leaving to system processes.
RECOMMENDED_SYSTEM_BUFFER = 0.05

#: The x86/Arm defaults (API ``ComputeResource.instanceTypes``: ``default_x86_64`` "from the m6i, c6i, r6i,
#: and c7i instance families", ``default_arm64`` from m6g, c6g, r6g and c7g; the m7/r7 sizes of the same
#: generations are kept, as Batch may update the families to a newer generation).
DEFAULT_X86_64_FAMILIES: frozenset[str] = frozenset({"c6i", "m6i", "r6i", "c7i", "m7i", "r7i"})
DEFAULT_ARM64_FAMILIES: frozenset[str] = frozenset({"c6g", "m6g", "r6g", "c7g", "m7g", "r7g"})
#: Families ``optimal`` may launch: "the c4, m4, r4, c5, m5, and r5 instance families", and, "Starting on
#: 11/01/2025 the behavior of optimal is going to be changed to match default_x86_64" (API
#: ``ComputeResource.instanceTypes``): during the change a compute environment may launch either, so both
#: count (a type of neither is never launched).
OPTIMAL_FAMILIES: frozenset[str] = frozenset({"c4", "m4", "r4", "c5", "m5", "r5"}) | DEFAULT_X86_64_FAMILIES
#: Instance-type "categories" a compute environment can list instead of types or families.
CATEGORY_FAMILIES: dict[str, frozenset[str]] = {
    "optimal": OPTIMAL_FAMILIES,
    "default_x86_64": DEFAULT_X86_64_FAMILIES,
    "default_arm64": DEFAULT_ARM64_FAMILIES,
}

_TYPE_NAME = re.compile(r"^(?P<family>[a-z][a-z0-9-]*)\.(?P<size>[a-z0-9-]+)$")


@dataclass(frozen=True)
class InstanceTypeFacts:
    """What the toolkit needs to know about one EC2 instance type."""

    name: str
    vcpus: int
    memory_mib: int
    architecture: Architecture
    gpus: int
    efa_supported: bool
    max_efa_interfaces: int
    network_cards: int

    @property
    def family(self) -> str:
        return family(self.name)

    @property
    def schedulable_memory_mib(self) -> int:
        """The most memory a job can request on this type and still be placed (see module docs)."""
        return int(self.memory_mib * OS_VISIBLE_MEMORY_RATIO) - ECS_RESERVED_MEMORY_MIB

    @property
    def container_memory_mib(self) -> int:
        """A safe default memory request for one container filling the instance (5 % buffer kept)."""
        return int(self.memory_mib * (1 - RECOMMENDED_SYSTEM_BUFFER)) - ECS_RESERVED_MEMORY_MIB


def family(instance_type: str) -> str:
    """``c5n.18xlarge`` -> ``c5n``; a bare family (``c5n``) is returned as is."""
    return instance_type.split(".", 1)[0].lower()


def is_instance_type_name(value: str) -> bool:
    """True for ``family.size`` names (not for families or categories such as ``optimal``)."""
    return bool(_TYPE_NAME.match(value.lower()))


@cache
def _table() -> dict[str, InstanceTypeFacts]:
    raw = json.loads(resources.files("mnp_toolkit.core").joinpath("data/instance_types.json").read_text())
    return {row["name"]: InstanceTypeFacts(**row) for row in raw["instance_types"]}


def lookup(name: str) -> InstanceTypeFacts | None:
    """Facts for ``name`` or ``None`` when the table does not know the type (unknown, not invalid)."""
    return _table().get(name.strip().lower())


def known_types() -> tuple[str, ...]:
    return tuple(sorted(_table()))


#: The documented architecture of each instance-type category.
CATEGORY_ARCHITECTURES: dict[str, Architecture] = {
    "optimal": "x86_64",
    "default_x86_64": "x86_64",
    "default_arm64": "arm64",
}


def entry_architectures(entry: str) -> frozenset[str] | None:
    """The CPU architectures a compute environment's ``InstanceTypes`` entry can launch; None if unknown.

    An exact type uses the facts table; a family (``c6g``) the architectures of the table's types of that
    family; a category (``optimal``, ``default_arm64``) its documented architecture. A type or family the
    table does not know is unknown (newer than the table), never guessed from its name.
    """
    name = entry.strip().lower()
    if name in CATEGORY_ARCHITECTURES:
        return frozenset({CATEGORY_ARCHITECTURES[name]})
    if is_instance_type_name(name):
        facts = lookup(name)
        return frozenset({facts.architecture}) if facts is not None else None
    found = {facts.architecture for facts in _table().values() if facts.family == name}
    return frozenset(found) if found else None


def architectures_of(entries: Iterable[str]) -> set[str]:
    """Every known architecture the entries can launch (unknown entries contribute nothing)."""
    return {arch for entry in entries for arch in (entry_architectures(entry) or ())}


def covers(listed: str, instance_type: str) -> bool:
    """Does a compute environment's ``InstanceTypes`` entry ``listed`` let Batch launch ``instance_type``:
    the type itself, its family, or a category (``optimal``, ``default_x86_64``, ``default_arm64``) whose
    families include it. Callers that judge a type newer than the facts table treat a category as undecided
    themselves (its families may grow)."""
    listed = listed.strip().lower()
    wanted = instance_type.strip().lower()
    if listed == wanted:
        return True
    if listed in CATEGORY_FAMILIES:
        return family(wanted) in CATEGORY_FAMILIES[listed]
    if is_instance_type_name(listed):
        return False
    return family(wanted) == listed
