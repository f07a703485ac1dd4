"""Reading a file a user names, safely (standard library only): the lint loader and the config loader share it.

A path may name anything: a FIFO that nobody writes to (a plain ``open`` blocks for ever), a device that
never ends, a directory, a file of gigabytes, or a regular file swapped for a FIFO between a check and the
read. :func:`read_regular_file` reads only a regular file of at most ``limit`` bytes, opened non-blocking
and checked again once open, and says which of those it refused with :class:`FileRefused`; each caller
words the refusal for its own users.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Literal

RefusalKind = Literal["directory", "special", "changed", "too-large"]


class FileRefused(Exception):
    """A path that was not read: a ``directory``, a ``special`` file (FIFO, socket, device), a file that
    ``changed`` into one of those while it was opened, or one ``too-large`` (``size`` bytes, or more)."""

    def __init__(self, kind: RefusalKind, *, size: int = 0) -> None:
        super().__init__(kind)
        self.kind: RefusalKind = kind
        self.size = size


def read_regular_file(path: Path, *, limit: int) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them.

    Raises :class:`FileRefused` for what is not a regular file or is larger than ``limit``; ``OSError`` as
    the system gives it (missing, permission denied, a symlink loop) and ``ValueError`` for a name with a
    NUL byte.
    """
    info = os.stat(path)
    if stat.S_ISDIR(info.st_mode):
        raise FileRefused("directory")
    if not stat.S_ISREG(info.st_mode):
        raise FileRefused("special")
    if info.st_size > limit:
        raise FileRefused("too-large", size=info.st_size)
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise FileRefused("changed")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(descriptor, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(descriptor)
    if size > limit:
        raise FileRefused("too-large", size=size)
    return b"".join(chunks)


__all__ = ["FileRefused", "RefusalKind", "read_regular_file"]
