"""How one long-running server process keeps its memory: measured with bench/load_classroom.py and
bench/bench_rerun.py on a 2-core laptop CPU. Both settings act once per process and change no number
the page shows."""

import ctypes
import gc
import sys
import threading
import time

# glibc's mallopt parameter for the number of malloc arenas (M_ARENA_MAX in malloc.h).
_M_ARENA_MAX = -8
MALLOC_ARENAS = 2
TRIM_EVERY_S = 30.0

_malloc_tuned = threading.Event()
_heap_settled = threading.Event()


def tune_malloc(arenas: int = MALLOC_ARENAS, trim_every: float = TRIM_EVERY_S) -> bool:
    """Where the C library is glibc: cap its malloc arenas, and give freed memory back to the system every
    `trim_every` seconds (malloc_trim, about a millisecond). True where this was done, once per process.

    Streamlit runs each session's script in a thread of its own; glibc gives threads that meet in
    malloc new arenas (up to eight per core), and memory freed inside them stays with the process.
    After 60 simulated students came and went, the server stayed 12% above its starting RSS.
    Elsewhere (macOS, musl) this does nothing.
    """
    if _malloc_tuned.is_set() or not sys.platform.startswith("linux"):
        return False
    _malloc_tuned.set()
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_ARENA_MAX, arenas)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return False

    def trim_now_and_then() -> None:
        while True:
            time.sleep(trim_every)
            trim(0)

    threading.Thread(target=trim_now_and_then, name="nsp-malloc-trim", daemon=True).start()
    return True


def settle_heap() -> None:
    """Once per server process, after its first full page run: move what is alive then (the imported
    libraries, the loaded model and corpora: about half a million objects) out of the garbage
    collector's reach with gc.freeze(), so that no later collection walks them again.

    A full collection over that heap took ~0.45 s on a 2-core laptop CPU, and Streamlit runs one after
    every script run (runner.postScriptGC), fragment reruns included: that was most of an Explorer
    edit's server time. Frozen objects are still freed the normal way when nothing refers to them;
    only reference cycles among them are never collected.
    """
    if _heap_settled.is_set():
        return
    _heap_settled.set()
    gc.collect()
    gc.freeze()
