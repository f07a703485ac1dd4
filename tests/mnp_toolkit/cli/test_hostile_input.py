"""Hostile input to `mnp lint` (it runs in CI on pull requests from anyone): every case ends with exit 2 and
ONE line on stderr naming the file and the problem, never a traceback, a hang or unbounded memory.

Each case runs `mnp lint` in a subprocess under resource limits set in ``preexec_fn`` (address space
:data:`MEMORY_LIMIT`, CPU :data:`CPU_SECONDS`) and a generous wall-clock timeout. A linear implementation
meets them with a wide margin (each case needs well under 100 MB and a fraction of a second of CPU); a
quadratic parse, an alias expansion or a blocking read does not. No assertion on this machine's speed.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mnp_toolkit.lint.loader import MAX_TEMPLATE_BYTES
from mnp_toolkit.lint.source import MAX_INTEGER_DIGITS, MAX_NESTING
from tests.helpers.templates import mnp_environment, props, resources

REPO = Path(__file__).resolve().parents[3]
MEMORY_LIMIT = 1024 * 1024 * 1024  # 1 GiB of address space (the interpreter and PyYAML take ~40 MB of it)
CPU_SECONDS = 30
WALL_SECONDS = 120  # only against a hang (a blocking read uses no CPU); never reached by a passing run


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return {**env, **extra}


def mnp(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mnp_toolkit", *args],
        cwd=cwd or REPO,
        env=env or _env(),
        capture_output=True,
        text=True,
        errors="backslashreplace",
        timeout=WALL_SECONDS,
        preexec_fn=_limits,
        check=False,
    )


def assert_one_line_exit_2(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    """Exit 2 (not a signal from the limits), nothing on stdout, one line on stderr with ``expected``."""
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n"), result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr
    return result.stderr


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def _alias_bomb() -> str:
    """9 levels of 9 aliases: 9**9 (387 million) strings once expanded."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        aliases = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{aliases}]")
    return "Resources:\n  Bomb:\n    Type: AWS::Batch::JobQueue\n    Properties:\n" + "".join(
        f"      {line}\n" for line in lines
    )


def _template_with(value_yaml: str) -> str:
    return f"Resources:\n  Q:\n    Type: AWS::Batch::JobQueue\n    Properties:\n      Priority: {value_yaml}\n"


CASES: dict[str, tuple[str, str | bytes, tuple[str, ...]]] = {
    "yaml alias bomb": ("bomb.yaml", _alias_bomb(), ("bomb.yaml", "anchor &a0", "no YAML anchors or aliases")),
    "yaml alias": ("alias.yaml", _template_with("*x"), ("alias.yaml", "found the alias *x")),
    "json 500 deep": (
        "deep.json",
        '{"Resources": {"Q": {"Type": "T", "Properties": {"P": ' + "[" * 500 + "]" * 500 + "}}}}",
        ("deep.json", f"nested more than {MAX_NESTING} levels", "line 1, column"),
    ),
    "json 100000 deep": ("deeper.json", "[" * 100_000, ("deeper.json", f"nested more than {MAX_NESTING} levels")),
    "yaml 900 deep": (
        "deep.yaml",
        _template_with("[" * 900 + "]" * 900),
        ("deep.yaml", f"nested more than {MAX_NESTING} levels", "line 5"),
    ),
    "yaml 900 deep block": (
        "block.yaml",
        "Resources:\n" + "".join(f"{' ' * (i + 1)}k{i}:\n" for i in range(900)) + " " * 902 + "x: 1\n",
        ("block.yaml", f"nested more than {MAX_NESTING} levels"),
    ),
    "binary junk": ("junk.template.json", random.Random(0).randbytes(4096), ("junk.template.json", "not UTF-8")),
    "nul bytes": ("nul.yaml", "Resources:\n  Q: \x00\x01\x02\n", ("nul.yaml", "invalid YAML")),
    "json integer of 5,000 digits": (
        "int.json",
        '{"Resources": {"Q": {"Type": "T", "Properties": {"N": ' + "9" * 5000 + "}}}}",
        ("int.json", "an integer of 5,000 digits", f"at most {MAX_INTEGER_DIGITS:,}", "line 1, column 55"),
    ),
    "yaml integer of 5,000 digits": (
        "int.yaml",
        _template_with("9" * 5000),
        ("int.yaml", "an integer of 5,000 digits", "line 5, column 17"),
    ),
    "json duplicate key": (
        "dup.json",
        '{"Resources": {"Q": {"Type": "A", "Type": "B"}}}',
        ("dup.json", 'duplicate key "Type"', "CloudFormation rejects duplicate keys", "line 1, column 35"),
    ),
    "yaml duplicate key": (
        "dup.yaml",
        "Resources:\n  Q:\n    Type: A\n  Q:\n    Type: B\n",
        ("dup.yaml", 'duplicate key "Q"', "line 4, column 3", 'first "Q" at line 2'),
    ),
    "json NaN": ("nan.json", '{"Resources": {}, "X": NaN}', ("nan.json", "NaN is not a JSON number")),
    "find-in-map cycle": (
        "cycle.json",
        json.dumps({"Mappings": {"M": {"a": {"b": {"Fn::FindInMap": ["M", "a", "b"]}}}}, "Resources": {}}),
        ("cycle.json", 'Mappings "M"/"a"/"b"', "no intrinsic functions in Mappings"),
    ),
    "find-in-map list that branches 3^160 ways": (
        "branch.json",
        json.dumps({"Mappings": {"M": {"a": {"b": [{"Fn::FindInMap": ["M", "a", "b"]}] * 3}}}, "Resources": {}}),
        ("branch.json", 'Mappings "M"/"a"/"b"', "no intrinsic functions in Mappings"),
    ),
    "a mapping without Resources (package.json)": (
        "package.json",
        json.dumps({"name": "app", "version": "1.0.0", "scripts": {}}),
        ("package.json", "not a CloudFormation template: no 'Resources' section", '"name", "version"'),
    ),
    "a cdk.out manifest.json as a file": (
        "manifest.json",
        json.dumps({"version": "55.0.0", "artifacts": {}}),
        ("manifest.json", "lint its directory instead"),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_file_exits_2_with_one_line(tmp_path: Path, case: str) -> None:
    name, content, expected = CASES[case]
    path = _write(tmp_path / name, content)
    assert_one_line_exit_2(mnp("lint", str(path)), str(path), *expected)


def _cdk_out_listing(tmp_path: Path, template_file: str) -> Path:
    out = tmp_path / "cdk.out"
    out.mkdir()
    artifacts = {"S": {"type": "aws:cloudformation:stack", "properties": {"templateFile": template_file}}}
    (out / "manifest.json").write_text(json.dumps({"version": "55.0.0", "artifacts": artifacts}))
    return out


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.template.json"
    os.mkfifo(path)
    return path


def _self_loop(tmp_path: Path) -> Path:
    path = tmp_path / "loop.template.json"
    path.symlink_to(path.name)
    return path


def _sparse_oversized(tmp_path: Path) -> Path:
    path = tmp_path / "huge.template.json"
    with path.open("wb") as handle:
        handle.truncate(MAX_TEMPLATE_BYTES + 1)  # sparse: no disk used, no bytes read
    return path


PATH_CASES: dict[str, tuple[Callable[[Path], Path], tuple[str, ...]]] = {
    "fifo": (_fifo, ("pipe.template.json", "not a regular file (a FIFO")),
    "fifo inside a directory": (lambda tmp: _fifo(tmp).parent, ("pipe.template.json", "not a regular file")),
    "symlink loop": (_self_loop, ("loop.template.json", "symlink loop")),
    "symlink loop inside a directory": (lambda tmp: _self_loop(tmp).parent, ("loop.template.json", "symlink loop")),
    "directory link loop": (
        lambda tmp: (tmp / "a").mkdir() or (tmp / "a" / "up").symlink_to("..") or tmp,
        ("no CloudFormation templates found",),
    ),
    "file over the size limit": (
        _sparse_oversized,
        ("huge.template.json", f"more than the {MAX_TEMPLATE_BYTES:,} bytes"),
    ),
    "directory without templates": (lambda tmp: tmp, ("no CloudFormation templates found",)),
    "file name over the OS limit": (lambda tmp: tmp / ("a" * 5000 + ".json"), ("file name is too long", "...")),
    "templateFile over the OS limit": (
        lambda tmp: _cdk_out_listing(tmp, "a" * 5000 + ".template.json"),
        ("file name is too long", "5,0"),
    ),
    "templateFile outside the assembly": (
        lambda tmp: _cdk_out_listing(tmp, "../../etc/passwd"),
        ("manifest.json", '"../../etc/passwd"', "not a file inside the cloud assembly"),
    ),
}


@pytest.mark.parametrize("case", sorted(PATH_CASES))
def test_hostile_path_exits_2_with_one_line(tmp_path: Path, case: str) -> None:
    make, expected = PATH_CASES[case]
    path = make(tmp_path)
    stderr = assert_one_line_exit_2(mnp("lint", str(path)), *expected)
    assert len(stderr) < 1000  # a name of thousands of characters is cut, not echoed whole


def test_empty_path_is_not_the_current_directory() -> None:
    assert_one_line_exit_2(mnp("lint", ""), "an empty path")


def test_usage_error_is_one_line() -> None:
    result = mnp("lint", "--format", "nope", "x.json")
    assert_one_line_exit_2(result, "mnp lint: error: argument --format: invalid choice", "(see mnp lint --help)")
    assert_one_line_exit_2(mnp("lint"), "the following arguments are required: PATH")


def _closed_pipe(*args: str) -> subprocess.CompletedProcess[str]:
    """Run with stdout a pipe whose reader is gone before anything is written (``| head -0``)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [sys.executable, "-m", "mnp_toolkit", *args],
            cwd=REPO,
            env=_env(),
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=WALL_SECONDS,
            preexec_fn=_limits,
            check=False,
        )
    finally:
        os.close(write)


def test_closed_pipe_exits_2_with_one_line(tmp_path: Path) -> None:
    template = mnp_environment()
    props(template, "ComputeEnvironment")["Type"] = "UNMANAGED"
    path = _write(tmp_path / "t.template.json", json.dumps(template))
    for args in (["lint", str(path)], ["rules", "--format", "json"], ["lint", str(path), "--format", "sarif"]):
        result = _closed_pipe(*args)
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
        assert "stdout: the reader closed the pipe" in result.stderr


def test_head_of_a_long_report(tmp_path: Path) -> None:
    """`mnp lint ... | head -1` as a shell runs it: head exits after one line, mnp says so in one line."""
    template = mnp_environment()
    props(template, "ComputeEnvironment")["Type"] = "UNMANAGED"
    resources(template)["ComputeEnvironment"]["Metadata"]["aws:cdk:path"] = "x" * 200_000  # a long report
    path = _write(tmp_path / "t.template.json", json.dumps(template))
    command = f"{sys.executable} -m mnp_toolkit lint {path} | head -1"
    result = subprocess.run(
        ["sh", "-c", command],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=WALL_SECONDS,
        preexec_fn=_limits,
        check=False,
    )
    assert result.stdout == f"{path}\n"
    assert result.stderr.count("\n") <= 1 and "Traceback" not in result.stderr


def test_non_utf8_locale_output_does_not_crash(tmp_path: Path) -> None:
    template = mnp_environment()
    props(template, "ComputeEnvironment")["Type"] = "UNMANAGED"
    resources(template)["ComputeEnvironment"]["Metadata"]["aws:cdk:path"] = "Stäck/Cé/≥Resource"
    path = _write(tmp_path / "t.template.json", json.dumps(template))
    result = mnp("lint", str(path), env=_env(PYTHONIOENCODING="ascii", LC_ALL="C", PYTHONUTF8="0"))
    assert result.returncode == 1, result.stderr
    assert "St\\xe4ck/C\\xe9/\\u2265Resource" in result.stdout and "Traceback" not in result.stderr
    bad = _write(tmp_path / "é≥.json", "[")
    assert_one_line_exit_2(
        mnp("lint", str(bad), env=_env(PYTHONIOENCODING="ascii", LC_ALL="C", PYTHONUTF8="0")), "invalid JSON"
    )


def test_control_characters_and_ansi_are_escaped_in_text(tmp_path: Path) -> None:
    template = mnp_environment()
    props(template, "ComputeEnvironment")["Type"] = "UNMANAGED"
    forged = "Ce\n  ERROR MNP999 forged\x1b[2J\u202e"
    resources(template)["ComputeEnvironment"]["Metadata"]["aws:cdk:path"] = forged
    path = _write(tmp_path / "t.template.json", json.dumps(template))
    result = mnp("lint", str(path))
    assert result.returncode == 1
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    assert not any(line.startswith("  ERROR MNP999") for line in result.stdout.splitlines())
    assert "Ce\\n  ERROR MNP999 forged\\x1b[2J\\u202e" in result.stdout


def test_version() -> None:
    result = mnp("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"mnp {_version()}")


def _version() -> Any:
    from mnp_toolkit import __version__

    return __version__
