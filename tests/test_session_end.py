"""explorer.ui.session_end: clean-ups that run once a session has been inactive for the reconnect window."""

from explorer.ui.session_end import GRACE_S, SessionEnds, reconnect_window


class Sessions:
    def __init__(self):
        self.active: set[str] = set()

    def is_active(self, session_id: str) -> bool:
        return session_id in self.active


def test_a_clean_up_waits_for_the_whole_window_and_runs_once():
    sessions, ran = Sessions(), []
    ends = SessionEnds(sessions.is_active, window=100.0)
    sessions.active.add("s1")
    ends.add("s1", "run", lambda: ran.append("s1 run"))
    ends.add("s1", "run", lambda: ran.append("again"))  # the same key: the first clean-up is kept
    assert ends.check(now=0.0) == [] and ran == []  # active
    sessions.active.discard("s1")  # the tab closed
    assert ends.check(now=10.0) == []
    assert ends.check(now=109.0) == [] and ran == []  # still inside the reconnect window
    assert ends.check(now=110.0) == ["s1"] and ran == ["s1 run"]
    assert ends.check(now=500.0) == [] and ran == ["s1 run"]  # once only
    assert ends.pending("s1") == []


def test_a_reconnect_inside_the_window_starts_the_clock_again():
    sessions, ran = Sessions(), []
    ends = SessionEnds(sessions.is_active, window=100.0)
    ends.add("s1", "run", lambda: ran.append("s1"))
    assert ends.check(now=0.0) == []  # inactive from 0
    sessions.active.add("s1")
    assert ends.check(now=90.0) == []  # back before the window ended
    sessions.active.discard("s1")
    assert ends.check(now=150.0) == []  # inactive from 150 only
    assert ends.check(now=249.0) == [] and ran == []
    assert ends.check(now=250.0) == ["s1"] and ran == ["s1"]


def test_sessions_end_separately_and_a_failing_clean_up_does_not_stop_the_others():
    sessions, ran = Sessions(), []
    ends = SessionEnds(sessions.is_active, window=5.0)
    sessions.active.update({"s1", "s2"})

    def broken():
        raise OSError("disk gone")

    ends.add("s1", "a", broken)
    ends.add("s1", "b", lambda: ran.append("s1 b"))
    ends.add("s2", "a", lambda: ran.append("s2 a"))
    sessions.active.discard("s1")
    ends.check(now=0.0)
    assert ends.check(now=5.0) == ["s1"] and ran == ["s1 b"]
    assert ends.pending("s2") == ["a"]


def test_the_default_window_is_the_servers_reconnect_ttl_plus_a_margin():
    from streamlit import config
    from streamlit.testing.v1.util import patch_config_options

    assert reconnect_window() == config.get_option("server.disconnectedSessionTTL") + GRACE_S
    sessions, ran = Sessions(), []
    ends = SessionEnds(sessions.is_active)
    ends.add("s1", "run", lambda: ran.append("s1"))
    with patch_config_options({"server.disconnectedSessionTTL": 10}):
        ends.check(now=0.0)
        assert ends.check(now=10.0 + GRACE_S - 1) == []
        assert ends.check(now=10.0 + GRACE_S) == ["s1"]


def test_the_watching_thread_outlives_a_round_that_fails():
    # E.g. the runtime going away at shutdown: the next round still runs the clean-ups that are due.
    import time

    calls, ran = [], []

    def is_active(session_id: str) -> bool:
        calls.append(session_id)
        if len(calls) == 1:
            raise RuntimeError("Runtime hasn't been created!")
        return False

    ends = SessionEnds(is_active, window=0.0)
    ends.add("s1", "run", lambda: ran.append("s1"))
    ends.watch(every=0.01)
    deadline = time.monotonic() + 5
    while not ran and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ran == ["s1"] and len(calls) >= 2
