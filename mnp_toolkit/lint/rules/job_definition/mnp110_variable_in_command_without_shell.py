"""MNP110 (warning): a node group's command names an environment variable but does not run through a shell.

A Batch container's ``Command`` is Docker's ``Cmd`` in exec form: the program is started directly, so
``$AWS_BATCH_JOB_NODE_INDEX`` or ``${VAR}`` reaches it as literal text (the torchx bug of issue 759:
every node got ``--node_rank=$AWS_BATCH_JOB_NODE_INDEX``). Only a shell expands variables, so a command
is fine when it is ``sh -c '...'`` (or bash, dash, zsh, ksh, ash, mksh, busybox sh, with options such as
``-o pipefail`` before ``-c``, possibly started by a wrapper: ``env``, ``tini --``, ``mpirun -np 4``), and
then only the script argument of ``-c`` is expanded. Programs that read ``$`` themselves (awk, perl, jq,
sed ...) are not judged. ``Ref::name`` placeholders are substituted by Batch itself (job parameters, not
environment variables) and ``$(VAR)`` by Kubernetes (EKS), so neither is reported.

An image whose ENTRYPOINT is a shell that expands its arguments would make such a command work; the
template cannot show the image, so that case is an acknowledgement with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from mnp_toolkit.lint.model.job_definitions import KIND_EKS, NodeRange, job_definition_model, mnp_scope
from mnp_toolkit.lint.model.resource_types import JOB_DEFINITION
from mnp_toolkit.lint.rule import Compliant, Level, NonCompliant, Problem, Rule, RuleResult
from mnp_toolkit.lint.template import Resource, Template

#: ``$NAME`` or ``${NAME}``, not ``$$`` (a literal dollar for some tools) and not ``$(NAME)`` (Kubernetes).
_VARIABLE = re.compile(r"(?<!\$)\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")
_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ash", "mksh"})
#: Programs that read ``$`` in their own arguments: awk's fields and variables (``$1``, ``$NF``), Perl, Ruby and
#: PHP variables, jq's ``$ENV`` and ``$name``, sed's last-line and end-of-line ``$``. Such a ``$`` is not for a
#: shell, so their arguments are not judged.
_DOLLAR_LANGUAGES = frozenset({"awk", "gawk", "mawk", "nawk", "perl", "ruby", "php", "jq", "sed"})
#: Long shell options whose value is the next argument (bash ``--rcfile FILE``, ``--init-file FILE``).
_LONG_OPTIONS_WITH_VALUE = frozenset({"--rcfile", "--init-file"})
_DOCKER_CMD_URL = "https://docs.docker.com/reference/dockerfile/#cmd"
#: Programs that start another program given in their arguments (a shell may come after them).
_LAUNCHERS = frozenset(
    {
        "env", "tini", "dumb-init", "mpirun", "mpiexec", "orterun", "srun", "timeout", "nice", "ionice", "nohup",
        "stdbuf", "taskset", "numactl", "busybox", "gosu", "su-exec", "setsid", "chrt", "time", "unbuffer",
    }
)  # fmt: skip
#: A launcher's argument that is no program: a count or a duration (``-np 4``, ``timeout 1h``).
_COUNT_OR_DURATION = re.compile(r"[0-9][0-9.]*[smhd]?")
_ENV_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def _program(argument: str) -> str:
    return argument.rsplit("/", 1)[-1]


def _script_position(command: Sequence[str], shell: int) -> int | None:
    """The index of SCRIPT in ``<shell> [options] -c [options] SCRIPT`` (the shell at ``shell``), or None when
    the shell runs a script file or reads standard input: then its arguments stay literal.

    As in POSIX ``sh`` and bash, the script is the first argument after the options; ``-o``/``+o`` (and
    bash's ``-O``/``+O``) take the next argument as their value (``-o pipefail``, ``-euo pipefail``), and
    ``--`` or ``-`` ends the options.
    """
    reads_script = False
    index = shell + 1
    while index < len(command):
        option = command[index]
        if option in ("--", "-"):
            index += 1
            break
        if option in _LONG_OPTIONS_WITH_VALUE:
            index += 2
            continue
        if option.startswith("--"):
            index += 1
            continue
        if len(option) < 2 or option[0] not in "-+":
            break
        flags = option[1:]
        reads_script = reads_script or (option[0] == "-" and "c" in flags)
        index += 2 if flags[-1] in "oO" else 1
    return index if reads_script and index < len(command) else None


def _launcher_argument(command: Sequence[str], index: int) -> bool:
    """Can ``command[index]`` belong to the chain of launchers before the program they start: a launcher, an
    option, an option's value, an ``env`` assignment, a count or a duration."""
    argument = command[index]
    previous = command[index - 1] if index else ""
    return (
        _program(argument) in _LAUNCHERS
        or argument[:1] in ("-", "+")
        or (previous[:1] == "-" and "=" not in previous)
        or _ENV_ASSIGNMENT.match(argument) is not None
        or _COUNT_OR_DURATION.fullmatch(argument) is not None
    )


def interpreted_positions(command: Sequence[str]) -> set[int]:
    """The argument positions whose ``$`` is not literal text: the script of ``<shell> ... -c SCRIPT``, or
    every argument of a program that reads ``$`` itself (awk, perl, jq, sed ...).

    That program is the command's own (position 0) or one that launchers start (``env A=1``, ``tini --``,
    ``mpirun -np 4``, ``timeout 1h``, ``nice``, ``busybox``): the launchers' own arguments before it stay
    literal, and so do the arguments of a shell that runs a script file. Any other program's arguments are
    literal text even where one is named ``sed`` or ``bash`` (``python x.py --tool sed``).
    """
    for index, argument in enumerate(command):
        program = _program(argument)
        if program in _SHELLS:
            script = _script_position(command, index)
            return set() if script is None else {script}
        if program in _DOLLAR_LANGUAGES:
            return set(range(index + 1, len(command)))
        if index == 0 and program not in _LAUNCHERS:
            break
        if index > 0 and not _launcher_argument(command, index):
            break
    return set()


def literal_variables(command: Any) -> list[str]:
    """The variables a command names where no shell will expand them (``[]`` when it is not a list of
    strings: what the template does not fix is not judged)."""
    if not isinstance(command, list) or not all(isinstance(item, str) for item in command):
        return []
    interpreted = interpreted_positions(command)
    names: list[str] = []
    for index, argument in enumerate(command):
        if index in interpreted:
            continue
        for match in _VARIABLE.finditer(argument):
            name = match.group("braced") or match.group("bare")
            if name not in names:
                names.append(name)
    return names


def _commands(node_range: NodeRange) -> list[tuple[str, Any]]:
    """(what, command) for every container of a range: ECS ``Command``; EKS ``Command`` and ``Args``
    (Kubernetes runs ``Args`` as the arguments of ``Command``, so they are judged as one command line)."""
    found: list[tuple[str, Any]] = []
    if node_range.kind == KIND_EKS:
        for container in node_range.containers:
            if not isinstance(container, Mapping):
                continue
            command, args = container.get("Command"), container.get("Args")
            line = (command if isinstance(command, list) else []) + (args if isinstance(args, list) else [])
            name = container.get("Name")
            found.append((f"container {name}" if isinstance(name, str) else "a container", line))
        return found
    containers = node_range.ecs_containers()
    for container in containers:
        if not isinstance(container, Mapping):
            continue
        name = container.get("Name")
        what = f"container {name}" if isinstance(name, str) and len(containers) > 1 else "its container"
        found.append((what, container.get("Command")))
    return found


def check(resource: Resource, template: Template) -> RuleResult:
    if (scope := mnp_scope(resource)) is not None:
        return scope
    problems: list[Problem] = []
    for node_range in job_definition_model(resource).ranges or []:
        for what, command in _commands(node_range):
            names = literal_variables(command)
            if not names:
                continue
            shown = ", ".join(f"${name}" for name in names)
            problems.append(
                Problem(
                    f"MNP job definition {resource.display_name}: the command of {what} in {node_range.label} "
                    f"names {shown} but does not run through a shell: the container starts in exec form, so "
                    "the program receives the literal text, not the value.",
                    f'Run it through a shell, e.g. Command: ["sh", "-c", "... {shown.split(", ")[0]} ..."], '
                    "or read the variable inside the program; use Ref::name with job Parameters for values "
                    "known at submit time. If the image's ENTRYPOINT is a shell that expands its arguments, "
                    "acknowledge MNP110 on this job definition with that reason.",
                )
            )
    if problems:
        return NonCompliant(*problems)
    return Compliant()


RULE = Rule(
    id="MNP110",
    level=Level.WARNING,
    resource_type=JOB_DEFINITION,
    info="A node group's command names an environment variable ($VAR) but does not run through a shell.",
    explanation="A Batch job definition's command is the container's Cmd in exec form: no shell runs, so "
    "$AWS_BATCH_JOB_NODE_INDEX, $AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS or ${VAR} reach the program as "
    "literal text and every node gets the same, wrong argument (torchx issue 759). Only the script of a "
    "shell's -c is expanded (a wrapper such as env, tini or mpirun may start the shell); the arguments of "
    "programs that read $ themselves (awk, perl, ruby, php, jq, sed) are not judged. Ref::name placeholders "
    "are substituted by Batch from the job's parameters and $(VAR) by Kubernetes on EKS; neither is reported.",
    fix='Wrap the command in a shell (["sh", "-c", "torchrun --node_rank=$AWS_BATCH_JOB_NODE_INDEX ..."]) or '
    "read the variable in the program; acknowledge MNP110 when the image's ENTRYPOINT is a shell that "
    "expands its arguments.",
    source="https://docs.aws.amazon.com/batch/latest/APIReference/API_ContainerProperties.html (command maps to "
    f"Docker Cmd; exec form runs no shell: {_DOCKER_CMD_URL}); "
    "https://docs.aws.amazon.com/batch/latest/userguide/job_definition_parameters.html (Ref:: parameters); "
    "https://github.com/pytorch/torchx/issues/759",
    check=check,
)
