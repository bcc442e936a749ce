"""Training runs for a server of many browser sessions: one background thread per run.

A classroom shares one server, so:
- each browser session has at most one run at a time;
- the server runs at most `max_runs` at once (env NSP_EXPLORER_MAX_RUNS, default 1: one run already
  keeps 2 CPU cores busy, and two runs would each go at half speed);
- a run whose page stops asking for news (closed tab: no heartbeat for `heartbeat_timeout` seconds,
  env NSP_EXPLORER_RUN_TIMEOUT, default 90) is stopped, so it cannot burn CPU forever.

The page never touches the model while it trains: the run thread appends event dicts to a list under
a lock, and the page copies that list when it redraws. A finished or stopped run saves its checkpoint
under explorer.models.checkpoints_dir()/<run id>.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from explorer.models import checkpoints_dir
from explorer.training import TrainConfig, Trainer, save_checkpoint

MAX_RUNS_ENV = "NSP_EXPLORER_MAX_RUNS"
TIMEOUT_ENV = "NSP_EXPLORER_RUN_TIMEOUT"
DEFAULT_MAX_RUNS = 1
# A hidden browser tab may run its timers only once a minute (Chrome's intensive throttling), so a
# timeout of exactly 60 s could stop the run of a student who merely switched tabs.
DEFAULT_HEARTBEAT_TIMEOUT = 90.0
FORGET_AFTER_S = 3600.0  # finished runs of sessions that went quiet are dropped after this long

ACTIVE = ("starting", "running")


class RunRefused(RuntimeError):
    """A run cannot start now; the message says why and what to do."""


def _env_number(name: str, default, cast):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = cast(raw)
    except ValueError:
        return default
    return value if value > 0 else default


@dataclass
class TrainingRun:
    run_id: str
    session_id: str
    config: TrainConfig
    status: str = "starting"  # starting | running | finished | stopped | error | abandoned
    message: str = ""
    checkpoint: Path | None = None
    started: float = field(default_factory=time.time)
    last_heartbeat: float = field(default_factory=time.monotonic)
    stop_event: threading.Event = field(default_factory=threading.Event, repr=False)
    _events: list[dict] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def add(self, event: dict) -> None:
        with self._lock:
            self._events.append(event)

    def events(self) -> list[dict]:
        """A copy of every event so far (the page's view of the run)."""
        with self._lock:
            return list(self._events)

    def heartbeat(self) -> None:
        self.last_heartbeat = time.monotonic()

    def wait(self, timeout: float | None = None) -> bool:
        if self.thread is not None:
            self.thread.join(timeout)
        return not self.active


class RunManager:
    def __init__(self, max_runs: int | None = None, heartbeat_timeout: float | None = None, checkpoint_root=None):
        self.max_runs = max_runs or _env_number(MAX_RUNS_ENV, DEFAULT_MAX_RUNS, int)
        self.heartbeat_timeout = heartbeat_timeout or _env_number(TIMEOUT_ENV, DEFAULT_HEARTBEAT_TIMEOUT, float)
        self.checkpoint_root = Path(checkpoint_root) if checkpoint_root else None
        self._runs: dict[str, TrainingRun] = {}  # session id -> its latest run
        self._lock = threading.Lock()

    def active_runs(self) -> int:
        with self._lock:
            return sum(run.active for run in self._runs.values())

    def run_for(self, session_id: str) -> TrainingRun | None:
        with self._lock:
            return self._runs.get(session_id)

    def heartbeat(self, session_id: str) -> None:
        run = self.run_for(session_id)
        if run is not None:
            run.heartbeat()

    def start(self, session_id: str, config: TrainConfig, corpus=None) -> TrainingRun:
        """Start a run for this session in a background thread, or raise RunRefused saying why not."""
        config.validate()
        with self._lock:
            self._forget_stale()
            mine = self._runs.get(session_id)
            if mine is not None and mine.active:
                raise RunRefused("A training run is already going in this browser tab: stop it before starting another.")
            busy = sum(run.active for run in self._runs.values())
            if busy >= self.max_runs:
                raise RunRefused(
                    f"The server is already training {busy} model(s), its limit at once "
                    f"({MAX_RUNS_ENV}={self.max_runs}), so that every run stays fast. Try again when a run "
                    "finishes (usually a minute or two); the rest of the page works meanwhile."
                )
            run = TrainingRun(run_id=time.strftime("run-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6],
                              session_id=session_id, config=config)
            self._runs[session_id] = run
        run.thread = threading.Thread(target=self._work, args=(run, corpus), name=f"nsp-train-{run.run_id}", daemon=True)
        run.thread.start()
        return run

    def stop(self, session_id: str) -> None:
        run = self.run_for(session_id)
        if run is not None:
            run.stop_event.set()

    def reset(self, session_id: str) -> None:
        """Stop this session's run (if any) and forget it, so the page starts over."""
        with self._lock:
            run = self._runs.pop(session_id, None)
        if run is not None:
            run.stop_event.set()

    def _forget_stale(self) -> None:
        now = time.monotonic()
        for session_id, run in list(self._runs.items()):
            if not run.active and now - run.last_heartbeat > FORGET_AFTER_S:
                del self._runs[session_id]

    def _work(self, run: TrainingRun, corpus) -> None:
        try:
            trainer = Trainer(run.config, corpus=corpus)
        except Exception as err:  # noqa: BLE001 - every failure becomes a message on the page
            run.message = str(err) if isinstance(err, ValueError) else f"{err.__class__.__name__}: {err}"
            run.add({"kind": "end", "status": "error", "step": 0, "elapsed": 0.0, "message": run.message})
            run.status = "error"
            return
        run.status = "running"
        abandoned = False
        end: dict = {}
        for event in trainer.run(run.stop_event):
            data = event.to_dict()
            run.add(data)
            if data["kind"] == "end":
                end = data
            if not abandoned and time.monotonic() - run.last_heartbeat > self.heartbeat_timeout:
                abandoned = True  # the page stopped asking: its tab is closed
                run.stop_event.set()
        if trainer.step > 0 and not abandoned:
            try:
                root = self.checkpoint_root or checkpoints_dir()
                run.checkpoint = save_checkpoint(trainer.model, trainer.tokenizer, root / run.run_id, run.config, trainer.log)
            except Exception as err:  # noqa: BLE001
                end["message"] = f"{end.get('message', '')} Saving the checkpoint failed: {err}".strip()
        run.message = end.get("message", "")
        if abandoned:
            run.message = f"Stopped at step {trainer.step}: the page stopped checking in for {self.heartbeat_timeout:g} s."
        run.status = "abandoned" if abandoned else end.get("status", "error")


_manager: RunManager | None = None
_manager_lock = threading.Lock()


def get_manager() -> RunManager:
    """The one manager of this server process, shared by every browser session."""
    global _manager
    with _manager_lock:
        if _manager is None:
            _manager = RunManager()
        return _manager
