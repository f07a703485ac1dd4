"""The node reaper: started on first use, ended by close(), and never started again after that."""

from __future__ import annotations

import os
from pathlib import Path

from mnp_local.runner.processes import Reaper


def _my_reapers() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = next((line.split()[1] for line in status.splitlines() if line.startswith("PPid:")), "")
        if ppid == str(os.getpid()) and b"reaper.py" in cmdline:
            found.append(int(entry.name))
    return found


def test_close_cleans_up_and_a_later_tell_starts_no_new_reaper(tmp_path: Path) -> None:
    # Judged against the reapers this process had before: other tests in the same worker may own some.
    before = set(_my_reapers())
    reaper = Reaper()
    registered = tmp_path / "node"
    registered.mkdir()
    reaper.tell("path", registered)
    assert len(set(_my_reapers()) - before) == 1
    reaper.close()
    assert not registered.exists()  # what was registered is removed when the reaper ends
    later = tmp_path / "late"
    later.mkdir()
    reaper.tell("path", later)
    assert set(_my_reapers()) - before == set()
    assert later.exists()
