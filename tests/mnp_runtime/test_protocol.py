"""Framing and message validation of the rendezvous protocol."""

from __future__ import annotations

import ipaddress
import json
import random

import pytest

from mnp_runtime.errors import ProtocolError
from mnp_runtime.protocol import (
    MAX_NESTING,
    HostEntry,
    LineBuffer,
    decode,
    encode,
    format_indexes,
    is_canonical_ipv4,
    max_reply_bytes,
    nesting_depth,
    parse_hosts,
    printable,
    truncate_reason,
)


def test_encode_is_one_line_even_with_newlines_in_strings() -> None:
    line = encode({"type": "reject", "reason": "two\nlines"})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode(line[:-1]) == {"type": "reject", "reason": "two\nlines"}


def test_line_buffer_reassembles_split_lines() -> None:
    buffer = LineBuffer(limit=100)
    assert buffer.feed(b'{"type":') == []
    assert buffer.feed(b'"a"}\n{"type":"b"}\n{"ty') == [b'{"type":"a"}', b'{"type":"b"}']
    assert buffer.feed(b'pe":"c"}\n') == [b'{"type":"c"}']


def test_line_buffer_bounds_a_line_without_newline() -> None:
    buffer = LineBuffer(limit=10)
    assert buffer.feed(b"x" * 10) == []
    with pytest.raises(ProtocolError, match="message longer than 10 bytes"):
        buffer.feed(b"x")


def test_line_buffer_bounds_a_complete_long_line() -> None:
    with pytest.raises(ProtocolError, match="message longer than 4 bytes"):
        LineBuffer(limit=4).feed(b"12345\n")


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (b"\xff", "not a JSON line"),
        (b"{", "not a JSON line"),
        (b"3", "expected a JSON object, got int"),
        (b'{"type": 3}', 'message has no string "type"'),
    ],
)
def test_decode_rejects(line: bytes, error: str) -> None:
    with pytest.raises(ProtocolError, match=error):
        decode(line)


def test_reply_bound_fits_the_largest_hosts_message() -> None:
    hosts = [HostEntry(i, "255.255.255.255", 999999) for i in range(1000)]
    line = encode({"type": "hosts", "hosts": [h.to_json() for h in hosts]})
    assert len(line) < max_reply_bytes(1000)
    assert parse_hosts(decode(line[:-1]), num_nodes=1000) == hosts


@pytest.mark.parametrize(
    ("hosts", "error"),
    [
        ("nope", "must list exactly 1 nodes"),
        ([], "must list exactly 1 nodes"),
        (["x"], r"hosts\[0\] is not an object"),
        ([{"index": 1, "address": "10.0.0.1", "slots": 1}], r"hosts\[0\] has index 1, expected 0"),
        ([{"index": False, "address": "10.0.0.1", "slots": 1}], r"hosts\[0\] field index is False"),
        ([{"index": 0, "address": "10.0.0.1", "slots": 0}], r"hosts\[0\] field slots is 0"),
        ([{"index": 0, "address": "example.com", "slots": 1}], r"hosts\[0\] has address 'example.com'"),
    ],
)
def test_parse_hosts_rejects(hosts: object, error: str) -> None:
    with pytest.raises(ProtocolError, match=error):
        parse_hosts({"type": "hosts", "hosts": hosts}, num_nodes=1)


@pytest.mark.parametrize(
    ("indexes", "text"),
    [([], ""), ([3], "3"), ([9, 7, 8, 3, 12], "3, 7-9, 12"), (list(range(1000)), "0-999"), ([1, 1, 2], "1-2")],
)
def test_format_indexes(indexes: list[int], text: str) -> None:
    assert format_indexes(indexes) == text


def test_truncate_reason_is_one_bounded_line() -> None:
    assert truncate_reason("a\nb\tc") == "a b c"
    long = truncate_reason("x" * 5000)
    assert len(long) == 1000 and long.endswith("...")


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("10.0.1.23", True),
        ("0.0.0.0", True),
        ("255.255.255.255", True),
        ("256.0.0.1", False),
        ("10.0.01.23", False),  # leading zero: not the canonical form the main node sends
        ("10.0.1", False),
        ("10.0.1.23.4", False),
        (" 10.0.1.23", False),
        ("10.0.1.23\n", False),
        ("fd00::1", False),
        (None, False),
        (167772161, False),
    ],
)
def test_is_canonical_ipv4(text: object, ok: bool) -> None:
    assert is_canonical_ipv4(text) is ok


def test_is_canonical_ipv4_agrees_with_ipaddress() -> None:
    rng = random.Random(5)
    pieces = ["0", "1", "01", "9", "10", "99", "100", "199", "200", "249", "250", "255", "256", "300", "", "a"]
    for _ in range(20000):
        text = ".".join(rng.choice(pieces) for _ in range(rng.choice([3, 4, 4, 4, 5])))
        try:
            expected = str(ipaddress.IPv4Address(text)) == text
        except ValueError:
            expected = False
        assert is_canonical_ipv4(text) is expected, text


def _json_depth(value: object) -> int:
    """Nesting depth of a parsed JSON value, the oracle for nesting_depth (independent of it)."""
    if isinstance(value, dict):
        return 1 + max((_json_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_json_depth(v) for v in value), default=0)
    return 0


@pytest.mark.parametrize(
    "document",
    [
        {"type": "x"},
        {"type": "x", "a": [1, [2, [3]]], "b": {"c": {}}},
        {"type": "x", "s": "[[[[{{{{"},  # brackets inside strings do not nest
        {"type": "x", "s": 'quote " and [ bracket', "t": "\\", "u": '\\"[', "v": '\\\\"{{'},
        {"type": "hosts", "hosts": [{"index": i, "address": "10.0.0.1", "slots": 1} for i in range(50)]},
        [[[]], [[[[]]]]],
        "plain",
        3,
    ],
)
def test_nesting_depth_agrees_with_the_parsed_document(document: object) -> None:
    line = json.dumps(document).encode()
    assert nesting_depth(line) == _json_depth(json.loads(line))


def test_nesting_depth_agrees_on_random_documents() -> None:
    rng = random.Random(11)
    alphabet = ['"', "\\", "[", "]", "{", "}", "a", " ", "\n", "\u00e9"]

    def build(level: int) -> object:
        kind = rng.random()
        if level > 6 or kind < 0.3:
            return "".join(rng.choice(alphabet) for _ in range(rng.randrange(6)))
        if kind < 0.65:
            return [build(level + 1) for _ in range(rng.randrange(4))]
        return {str(build(7)): build(level + 1) for _ in range(rng.randrange(4))}

    for _ in range(3000):
        document = build(0)
        line = json.dumps(document, ensure_ascii=rng.random() < 0.5).encode()
        assert nesting_depth(line) == _json_depth(document), line


@pytest.mark.parametrize(
    "line",
    [
        b"[" * 4000,
        b"[" * 4000 + b"]" * 4000,
        b'{"type":"register","x":' + b"[" * 2000 + b"]" * 2000 + b"}",
        b'{"a":' * 800 + b"1" + b"}" * 800,
        b"[" * (MAX_NESTING + 1) + b"]" * (MAX_NESTING + 1),
    ],
)
def test_decode_refuses_deep_nesting_before_parsing(line: bytes) -> None:
    """4 KiB of brackets is a RecursionError for the json module; here it is a protocol error."""
    with pytest.raises(ProtocolError, match=rf"nested \d+ levels deep \(at most {MAX_NESTING}\)"):
        decode(line)


def test_decode_accepts_the_deepest_allowed_nesting() -> None:
    inner: object = 1
    for _ in range(MAX_NESTING - 1):
        inner = [inner]
    assert decode(json.dumps({"type": "x", "v": inner}).encode())["type"] == "x"


def test_decode_raises_only_protocol_errors_on_any_bytes() -> None:
    """Fuzz (fixed seed): random bytes and mutated valid lines end in a message or a ProtocolError."""
    rng = random.Random(15)
    seeds = [
        encode({"type": "register", "protocol": 1, "index": 3, "num_nodes": 8, "address": "10.0.0.4",
                "slots": 2, "session": "abc", "job": None})[:-1],
        encode({"type": "hosts", "hosts": [{"index": 0, "address": "10.0.0.1", "slots": 1}]})[:-1],
        b'{"type":"done","ok":true,"reason":""}',
    ]  # fmt: skip
    tokens = [b"[", b"{", b"]", b"}", b'"', b"\\", b"9" * 5000, b"\xff", b"\x00", b'"\\ud800"', b"1e999", b"NaN"]
    for _ in range(5000):
        line = bytearray(rng.choice(seeds))
        for _ in range(rng.randrange(1, 6)):
            where = rng.randrange(len(line) + 1)
            choice = rng.random()
            if choice < 0.4:
                line[where:where] = rng.choice(tokens) * rng.randrange(1, 200)
            elif choice < 0.7:
                line[where : where + rng.randrange(1, 8)] = b""
            else:
                line[where:where] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
        try:
            message = decode(bytes(line))
        except ProtocolError:
            continue
        assert isinstance(message, dict) and isinstance(message["type"], str)


def test_printable_escapes_control_characters_only() -> None:
    assert printable("node 3 at 10.0.0.1, café") == "node 3 at 10.0.0.1, café"
    assert printable("a\x1b[31mred\nnext\x00\ud800") == "a\\x1b[31mred\\nnext\\x00\\ud800"
    assert truncate_reason("forged\x1b[2Jline") == "forged\\x1b[2Jline"
