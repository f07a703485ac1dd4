"""Hostile config files end in one clear error, never a traceback, in all three places that read them:
``load_config`` (a ConfigError), ``cdk synth -c config=...`` (app.py, exit 2) and ``mnp preflight
--config`` (exit 2).

Each case is a file as an editor, a shell or an attacker might produce it: UTF-16 from a Windows
editor, Latin-1, binary junk, 5,000 levels of nesting (PyYAML's composer recurses per level), a
5,000-digit integer (beyond Python's 4,300-digit conversion limit), an alias bomb, a cycle, a huge file.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mnp_toolkit.cli.main import main as mnp_main
from mnp_toolkit.config.load import MAX_CONFIG_BYTES, MAX_NESTING, MAX_VALUES, _parse_yaml, load_config
from mnp_toolkit.config.model import ConfigError
from stacks.app_builder import load_config_or_exit

REPO = Path(__file__).resolve().parents[3]
CDK_CLI = REPO / "node_modules" / ".bin" / "cdk"
DEFAULT = (REPO / "config" / "default.yaml").read_bytes()


def _alias_bomb() -> bytes:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    return ("\n".join(lines) + "\nstack_name: *a8\n").encode()


# name -> (file contents, what the one-line error says)
CASES: dict[str, tuple[bytes, str]] = {
    "utf16_with_bom": (
        DEFAULT.decode().encode("utf-16"),
        "the file is UTF-16 text (it starts with a UTF-16 byte-order mark): save it as UTF-8",
    ),
    "utf16_without_bom": (
        DEFAULT.decode().encode("utf-16-le"),
        "NUL byte at line 1, column 2: the file is binary, or UTF-16/UTF-32 without a byte-order mark",
    ),
    "utf32_with_bom": (DEFAULT.decode().encode("utf-32"), "the file is UTF-32 text"),
    "latin1": (
        b"stack_name: Caf\xe9\n",
        "not UTF-8 text: byte 0xe9 at line 1, column 16 is not valid UTF-8 (Latin-1 or Windows-1252 perhaps); "
        "save the file as UTF-8",
    ),
    "binary": (random.Random(15).randbytes(4096), "NUL byte at line"),
    "duplicate_key": (
        DEFAULT + b"\nstack_name: Other\n",
        'duplicate key "stack_name" (first at line',
    ),
    "duplicate_nested_key": (
        b"stack_name: Mnp\ntags:\n  team: a\n  team: b\n",
        'invalid YAML at line 4, column 3: duplicate key "team" (first at line 3)',
    ),
    "deep_flow_sequence": (
        b"stack_name: [" + b"[" * 4999 + b"]" * 5000 + b"\n",
        # The document's mapping is level 1, so level 65 is the 64th "[", at column 12 + 64.
        f"invalid YAML at line 1, column {12 + MAX_NESTING}: values nest more than {MAX_NESTING} levels deep",
    ),
    "deep_flow_mapping": (
        b"tags: " + b"{a: " * 5000 + b"1" + b"}" * 5000 + b"\n",
        f"values nest more than {MAX_NESTING} levels deep",
    ),
    "deep_block_sequence": (b"- " * 5000 + b"x\n", f"values nest more than {MAX_NESTING} levels deep"),
    "integer_of_5000_digits": (
        DEFAULT + b"\nmax_vcpus_extra: " + b"9" * 5000 + b"\n",
        "an integer of 5000 characters is far larger than any config value",
    ),
    "integer_of_5000_digits_in_a_field": (
        b"job_definitions:\n  - num_nodes: " + b"1" * 5000 + b"\n",
        "invalid YAML at line 2, column 16: an integer of 5000 characters",
    ),
    "alias_bomb": (_alias_bomb(), f"the aliases expand to more than {MAX_VALUES:,} values"),
    "alias_cycle": (b"tags: &t [*t]\n", "an alias refers to a value that contains it (a cycle)"),
    "control_character": (b"stack_name: a\x1bb\n", "at line 1, column 14: character U+001B is not allowed in YAML"),
    "huge": (b"# " + b"x" * MAX_CONFIG_BYTES + b"\n", "the file is larger than 1 MiB"),
}

# The three kinds of file the issue names, for the (slower) real `cdk synth`.
ISSUE_CASES = ("utf16_with_bom", "deep_flow_sequence", "integer_of_5000_digits")


@pytest.fixture(params=sorted(CASES))
def hostile(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    content, expected = CASES[request.param]
    path = tmp_path / f"{request.param}.yaml"
    path.write_bytes(content)
    return path, expected


def test_load_config_raises_one_config_error(hostile: tuple[Path, str]) -> None:
    path, expected = hostile
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_mnp_preflight_exits_2_with_one_line(hostile: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    """The config is read before any AWS call, so no credentials are needed to see the error."""
    path, expected = hostile
    code = mnp_main(["preflight", "--config", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"mnp preflight: {path}: ") and expected in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_the_cdk_app_exits_2_with_one_line(hostile: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    """What app.py runs for `cdk synth -c config=PATH` (stacks.app_builder.load_config_or_exit)."""
    path, expected = hostile
    with pytest.raises(SystemExit) as exited:
        load_config_or_exit(path)
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.startswith(f"error: {path}: ") and expected in err
    assert err.count("\n") == 1


@pytest.mark.synth
@pytest.mark.skipif(not CDK_CLI.exists(), reason="the CDK CLI is not installed (npm ci installs node_modules/.bin/cdk)")
@pytest.mark.parametrize("case", ISSUE_CASES)
def test_real_cdk_synth_exits_with_the_one_line(case: str, tmp_path: Path) -> None:
    content, expected = CASES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_bytes(content)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    result = subprocess.run(
        [str(CDK_CLI), "synth", "-c", f"config={path}", "-o", str(tmp_path / "cdk.out"), "--quiet"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"error: {path}: " in result.stderr and expected in result.stderr, output
    assert "Traceback" not in output and "RecursionError" not in output and "UnicodeDecodeError" not in output


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + DEFAULT)
    assert load_config(path) == load_config(REPO / "config" / "default.yaml")


def test_nesting_up_to_the_bound_is_plain_yaml(tmp_path: Path) -> None:
    """Below the bound the loader is PyYAML's: the nested value reaches validation (which refuses it as a
    stack name, naming the field) instead of being refused as YAML."""
    path = tmp_path / "nested.yaml"
    path.write_bytes(b"stack_name: " + b"[" * (MAX_NESTING - 1) + b"]" * (MAX_NESTING - 1) + b"\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "invalid YAML" not in str(caught.value)
    assert "stack_name" in str(caught.value)


def test_aliases_of_ordinary_size_still_work(tmp_path: Path) -> None:
    text = DEFAULT.decode().replace("stack_name:", "x-shared: &name MnpAliased\nstack_name:", 1)
    lines = [line for line in text.splitlines() if not line.startswith("stack_name:")]
    path = tmp_path / "aliases.yaml"
    path.write_text("\n".join([*lines, "stack_name: *name"]) + "\n")
    with pytest.raises(ConfigError) as caught:  # x-shared is an unknown key, and says so by name
        load_config(path)
    assert "x-shared: unknown key" in str(caught.value)


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_a_path_that_is_no_regular_file_is_refused_without_reading(tmp_path: Path, kind: str) -> None:
    """A FIFO nobody writes to would block a plain open() for ever: refused at once, like a directory."""
    path = tmp_path / "config.yaml"
    if kind == "fifo":
        os.mkfifo(path)
        expected = "not a regular file (a FIFO"
    else:
        path.mkdir()
        expected = "is a directory"
    with pytest.raises(ConfigError, match=re.escape(f"{path}: {expected}")):
        load_config(path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    result = subprocess.run(
        [sys.executable, "-m", "mnp_toolkit.config", "check", str(path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and expected in result.stderr and "Traceback" not in result.stderr


def test_keys_a_merge_brings_in_may_be_overridden() -> None:
    """YAML merge keys are the one place where a later key replaces an earlier one on purpose."""
    text = "base: &base {team: a, env: dev}\ntags:\n  <<: *base\n  team: b\n"
    assert _parse_yaml(text) == {"base": {"team": "a", "env": "dev"}, "tags": {"team": "b", "env": "dev"}}
