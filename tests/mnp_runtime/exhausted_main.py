"""A main node whose open-files limit is used up: run as a script by test_rendezvous_hostile.py.

``python exhausted_main.py NOFILE RELEASE_PATH`` sets RLIMIT_NOFILE (soft and hard) to NOFILE, starts a
2-node RendezvousServer on 127.0.0.1 (printing its port on stdout), then opens /dev/null until no
descriptor is left, so that every accept() fails with EMFILE and there is no unregistered connection
to close instead. Once RELEASE_PATH exists it closes those descriptors again. Log lines go to stderr as
``log: ...`` and warnings as ``warning: ...``; the host list, once complete, to stdout.
"""

from __future__ import annotations

import os
import resource
import sys
import threading
import time


def main() -> None:
    limit, release_path = int(sys.argv[1]), sys.argv[2]
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
    from mnp_runtime.rendezvous import RendezvousServer

    def log(message: str) -> None:
        sys.stderr.write(f"log: {message}\n")
        sys.stderr.flush()

    def warn(message: str) -> None:
        sys.stderr.write(f"warning: {message}\n")
        sys.stderr.flush()

    server = RendezvousServer(
        num_nodes=2,
        main_index=0,
        main_address="10.0.0.1",
        main_slots=1,
        job=None,
        bind_address="127.0.0.1",
        port=0,
        log=log,
        warn=warn,
    )
    print(server.port, flush=True)
    hog: list[int] = []
    try:
        while True:
            hog.append(os.open(os.devnull, os.O_RDONLY))
    except OSError:
        pass
    log(f"holding {len(hog)} descriptors")

    def release() -> None:
        while not os.path.exists(release_path):
            time.sleep(0.05)
        for fd in hog:
            os.close(fd)
        log("released the descriptors")

    threading.Thread(target=release, daemon=True).start()
    hosts = server.run(timeout=120, on_complete=lambda _hosts: None)
    print(" ".join(h.address for h in hosts), flush=True)


if __name__ == "__main__":
    main()
