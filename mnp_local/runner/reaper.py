"""The node reaper: cleans up after the emulator however it ends, SIGKILL included.

The emulator starts one reaper and tells it, on the reaper's stdin, what it creates for node processes:

* ``group PGID`` / ``ungroup PGID``: a node's process group (each node runs in a session of its own);
* ``path DIR`` / ``unpath DIR``: a node's working directory;
* ``netns NAME`` / ``unnetns NAME`` and ``link NAME`` / ``unlink NAME``: a network namespace and a bridge.

When stdin reaches end of file (the emulator closed it, exited or was killed), the reaper SIGKILLs every
process group still listed, deletes the namespaces and links, removes the directories, and exits. A node
process that the emulator could not stop itself therefore never outlives it. The emulator runs this file
directly (``python -I .../reaper.py``): standard library only, so it starts in milliseconds.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys


def _cleanup(groups: set[int], paths: set[str], namespaces: set[str], links: set[str]) -> None:
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
    for name in namespaces:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)
    for name in links:
        subprocess.run(["ip", "link", "delete", name], capture_output=True, check=False)
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def main() -> int:
    # The emulator's terminal may send SIGINT to everything in the foreground; the reaper's job is to
    # outlive the emulator by exactly the time it takes to clean up, so it ends on end of file only.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sets: dict[str, set[str]] = {"group": set(), "path": set(), "netns": set(), "link": set()}
    for line in sys.stdin:
        verb, _, argument = line.rstrip("\n").partition(" ")
        removing = verb.startswith("un")
        target = sets.get(verb[2:] if removing else verb)
        if target is None or not argument:
            continue
        if removing:
            target.discard(argument)
        else:
            target.add(argument)
    groups = {int(pgid) for pgid in sets["group"] if pgid.isdigit()}
    _cleanup(groups, sets["path"], sets["netns"], sets["link"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
