"""Run a clean-up when a browser session has ended for good.

Streamlit has no session-end callback. When a tab closes, its session stops being active, and the
server keeps it for a reconnect for server.disconnectedSessionTTL seconds (120 by default); after that
a browser that comes back gets a new session, and nothing of the old one can be reached again. So a
session that has not been active for longer than that window is over. One thread per server process
asks the runtime (Runtime.is_active_session, safe from any thread) every few seconds, and runs the
clean-ups of the sessions that are over, once each.

(A weakref on an object in session state would fire only when the garbage collector frees the
session, which needs another session's write to the storage and a collection, and never happens
for the sessions alive when explorer.ui.server_memory.settle_heap froze the heap.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from streamlit import config, runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

TTL_OPTION = "server.disconnectedSessionTTL"  # how long Streamlit keeps a closed session for a reconnect
GRACE_S = 30.0  # a margin on top: a clean-up must never run while the session could still come back
CHECK_EVERY_S = 5.0

log = logging.getLogger(__name__)


class SessionEnds:
    """Clean-ups per session, run once the session has been inactive for `window` seconds in a row
    (default: reconnect_window(), read at each check)."""

    def __init__(self, is_active: Callable[[str], bool], window: float | None = None):
        self._is_active = is_active
        self._window = window
        self._lock = threading.Lock()
        self._clean_ups: dict[str, dict[str, Callable[[], None]]] = {}  # session id -> key -> clean-up
        self._inactive_since: dict[str, float] = {}
        self._thread: threading.Thread | None = None

    def add(self, session_id: str, key: str, clean_up: Callable[[], None]) -> None:
        """Register clean_up for this session under key; a key already registered keeps its first clean-up."""
        with self._lock:
            self._clean_ups.setdefault(session_id, {}).setdefault(key, clean_up)

    def pending(self, session_id: str) -> list[str]:
        with self._lock:
            return sorted(self._clean_ups.get(session_id, {}))

    def check(self, now: float | None = None) -> list[str]:
        """Run the clean-ups of sessions inactive for the whole window; return those sessions' ids."""
        now = time.monotonic() if now is None else now
        window = reconnect_window() if self._window is None else self._window
        ended: dict[str, dict[str, Callable[[], None]]] = {}
        with self._lock:
            for session_id in list(self._clean_ups):
                if self._is_active(session_id):
                    self._inactive_since.pop(session_id, None)
                elif now - self._inactive_since.setdefault(session_id, now) >= window:
                    ended[session_id] = self._clean_ups.pop(session_id)
                    del self._inactive_since[session_id]
        for session_id, clean_ups in ended.items():
            for key, clean_up in clean_ups.items():
                try:
                    clean_up()
                except Exception:  # one failed clean-up must not stop the others or the watching thread
                    log.exception("clean-up %r of ended session %s failed", key, session_id)
        return list(ended)

    def watch(self, every: float = CHECK_EVERY_S) -> None:
        """Check every `every` seconds in a daemon thread (started once)."""
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._loop, args=(every,), name="nsp-session-ends", daemon=True)
        self._thread.start()

    def _loop(self, every: float) -> None:
        while True:
            time.sleep(every)
            try:
                self.check()
            except Exception:  # a bad round (the runtime going away at shutdown) must not end the watching
                log.exception("checking for ended sessions failed")


def reconnect_window() -> float:
    """Seconds after which an inactive session cannot come back: the server's TTL for it, plus a margin."""
    return float(config.get_option(TTL_OPTION)) + GRACE_S


def _server_running() -> bool:
    return runtime.exists()


def _runtime_is_active(session_id: str) -> bool:
    return _server_running() and runtime.get_instance().is_active_session(session_id)


_session_ends = SessionEnds(_runtime_is_active)


def on_session_end(key: str, clean_up: Callable[[], None]) -> None:
    """Call clean_up() once, after this browser session has ended for good; registering the same key again
    does nothing. Only under a running server (in AppTest there is no runtime whose sessions end)."""
    ctx = get_script_run_ctx()
    if ctx is None or not _server_running():
        return
    _session_ends.add(ctx.session_id, key, clean_up)
    _session_ends.watch()
