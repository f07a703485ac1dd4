"""The node reaper: started on first use, ended by close(), and never started again after that."""

from __future__ import annotations

import os
from pathlib import Path

from mnp_local.runner.processes import Reaper
from tests.mnp_local.runner.emulator import wait_until


def _children() -> dict[int, bytes]:
    """This process's children and their command lines (a child still between fork and exec shows ours)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = next((line.split()[1] for line in status.splitlines() if line.startswith("PPid:")), "")
        if ppid == str(os.getpid()):
            found[int(entry.name)] = cmdline
    return found


def test_close_cleans_up_and_a_later_tell_starts_no_new_reaper(tmp_path: Path) -> None:
    # Judged against the children this process already had: other tests in the same worker may own some.
    before = set(_children())
    reaper = Reaper()
    registered = tmp_path / "node"
    registered.mkdir()
    reaper.tell("path", registered)
    wait_until(
        lambda: [pid for pid, cmdline in _children().items() if pid not in before and b"reaper.py" in cmdline],
        what="the reaper to start",
    )
    reaper.close()
    assert not registered.exists()  # what was registered is removed when the reaper ends
    after_close = set(_children())
    later = tmp_path / "late"
    later.mkdir()
    reaper.tell("path", later)  # a reaper would be started here, synchronously, as the first one was
    assert set(_children()) - after_close == set()
    assert later.exists()
