"""The training-run cap shared by every server process on one machine: one lock file per slot.

A classroom may be served by several processes (./serve_classroom.sh), each with its own run
manager; the cap (NSP_EXPLORER_MAX_RUNS) protects the machine's cores, so the processes must count
together. A run holds an exclusive, non-blocking flock on one of the files slot-0 .. slot-(N-1) in
a folder they share; the kernel releases it when the run closes the file or its process dies, so a
crashed server never leaves a slot taken. Where flock does not exist (Windows) the cap stays
per process.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    HAS_FLOCK = False
else:
    HAS_FLOCK = True


def take_slot(folder: Path, slots: int) -> IO | None:
    """Lock a free slot and return its open file (keep it open while the run lasts), or None if all are taken."""
    if not HAS_FLOCK:
        return open(__file__)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(slots):
        handle = open(folder / f"slot-{i}", "a+")  # noqa: SIM115 - held open for the run's lifetime
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        return handle
    return None


def release_slot(handle: IO | None) -> None:
    if handle is not None:
        handle.close()  # closing drops the flock
