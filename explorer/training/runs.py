"""Training runs for a server of many browser sessions: one child process per run, watched by a thread.

A classroom shares one server, so:
- each browser session has at most one run at a time;
- the server runs at most `max_runs` at once (env NSP_EXPLORER_MAX_RUNS, default 1: one run already
  keeps 2 CPU cores busy, and two runs would each go at half speed);
- a run whose page stops asking for news (closed tab: no heartbeat for `heartbeat_timeout` seconds,
  env NSP_EXPLORER_RUN_TIMEOUT, default 90) is stopped, so it cannot burn CPU forever.

The training itself runs in a child process (explorer.training.worker), so its steps and the page's reruns
stop contending for one interpreter lock. A thread of the server watches each run: it appends the child's
typed events to a list under a lock (the page copies that list when it redraws), passes on Stop, Reset and
the abandoned-run timeout, and ends the run whatever happens to the child. A finished or stopped run's
child saves its checkpoint under explorer.models.checkpoints_dir()/<run id>; Reset, the timeout, the end
of the run's browser session (explorer.ui.session_end) and pruning delete it.
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from explorer.corpus import Corpus
from explorer.models import checkpoints_dir
from explorer.run_slots import release_slot, take_slot
from explorer.training import worker
from explorer.training.config import TrainConfig
from explorer.training.events import EndEvent, Event
from explorer.training.loop import Trainer
from explorer.training.worker import Failed, Saved, SaveFailed, WorkerDone, WorkerJob, failure_text

MAX_RUNS_ENV = "NSP_EXPLORER_MAX_RUNS"
TIMEOUT_ENV = "NSP_EXPLORER_RUN_TIMEOUT"
MAX_CHECKPOINTS_ENV = "NSP_EXPLORER_MAX_CHECKPOINTS"
DEFAULT_MAX_RUNS = 1
DEFAULT_MAX_CHECKPOINTS = 20
RUN_PREFIX = "run-"  # run ids, and so the only checkpoint folders the manager may delete
# A hidden browser tab may run its timers only once a minute (Chrome's intensive throttling), so a
# timeout of exactly 60 s could stop the run of a student who merely switched tabs.
DEFAULT_HEARTBEAT_TIMEOUT = 90.0
FORGET_AFTER_S = 3600.0  # finished runs of sessions that went quiet are dropped after this long
WATCH_S = 0.2  # how often the watching thread looks at the heartbeat and the child when no event comes
# A stopped child ends at its next step; one that has not ended this long after the request (stuck loading
# a model, say) is killed, so Reset and the timeout always free the slot.
STOP_GRACE_S = 60.0

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
    # Process-shared flags: the child polls `stop_event` at every step and skips saving when `discard` is set.
    stop_event: Any = field(default_factory=worker.CONTEXT.Event, repr=False)
    discard: Any = field(default_factory=worker.CONTEXT.Event, repr=False)
    stop_requested: float | None = None  # monotonic time of the first stop request
    _events: list[Event] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    thread: threading.Thread | None = field(default=None, repr=False)
    forgotten: bool = False  # reset or dropped by the manager: its checkpoint must not outlive it
    slot: IO | None = field(default=None, repr=False)  # the machine-wide run slot it holds (explorer.run_slots)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def add(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)

    def events(self) -> list[Event]:
        """A copy of every event so far (the page's view of the run)."""
        with self._lock:
            return list(self._events)

    def heartbeat(self) -> None:
        self.last_heartbeat = time.monotonic()

    def request_stop(self, discard: bool = False) -> None:
        if discard:
            self.discard.set()  # set first: the child reads it after its loop ends
        self.stop_event.set()
        if self.stop_requested is None:
            self.stop_requested = time.monotonic()

    def wait(self, timeout: float | None = None) -> bool:
        if self.thread is not None:
            self.thread.join(timeout)
        return not self.active


class RunManager:
    def __init__(
        self,
        max_runs: int | None = None,
        heartbeat_timeout: float | None = None,
        checkpoint_root=None,
        max_checkpoints: int | None = None,
    ):
        self.max_runs = max_runs or _env_number(MAX_RUNS_ENV, DEFAULT_MAX_RUNS, int)
        self.heartbeat_timeout = heartbeat_timeout or _env_number(TIMEOUT_ENV, DEFAULT_HEARTBEAT_TIMEOUT, float)
        self.max_checkpoints = max_checkpoints or _env_number(MAX_CHECKPOINTS_ENV, DEFAULT_MAX_CHECKPOINTS, int)
        self.checkpoint_root = Path(checkpoint_root) if checkpoint_root else None
        self._runs: dict[str, TrainingRun] = {}  # session id -> its latest run
        self._lock = threading.Lock()
        self._deletion_listeners: list[Callable[[Path], None]] = []

    def on_checkpoint_deleted(self, listener: Callable[[Path], None]) -> None:
        """Call `listener(folder)` after each checkpoint folder this manager deletes (e.g. to drop a model
        loaded from it); adding the same listener again does nothing."""
        with self._lock:
            if listener not in self._deletion_listeners:
                self._deletion_listeners.append(listener)

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

    def start(self, session_id: str, config: TrainConfig, corpus: Corpus | None = None) -> TrainingRun:
        """Start a run for this session in a child process, or raise RunRefused saying why not.

        corpus: the documents to train on instead of config.corpus (sent to the child; tests use it).
        """
        config.validate()
        with self._lock:
            stale = self._forget_stale()
            mine = self._runs.get(session_id)
            if mine is not None and mine.active:
                raise RunRefused(
                    "A training run is already going in this browser tab: stop it before starting another."
                )
            busy = sum(run.active for run in self._runs.values())
            # The cap counts the runs of every server process on this machine (./serve_classroom.sh): they
            # share the checkpoint folder, and their slots lie beside it.
            slots = self._root().with_name(self._root().name + ".run-slots")
            slot = take_slot(slots, self.max_runs) if busy < self.max_runs else None
            if slot is None:
                busy = max(busy, self.max_runs)
                raise RunRefused(
                    f"The server is already training {busy} model(s), its limit at once "
                    f"({MAX_RUNS_ENV}={self.max_runs}), so that every run stays fast. Try again when a run "
                    "finishes (usually a minute or two); the rest of the page works meanwhile."
                )
            run = TrainingRun(
                run_id=time.strftime("run-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6],
                session_id=session_id,
                config=config,
                slot=slot,
            )
            self._runs[session_id] = run
        for old in stale:
            self._delete_checkpoint(old)
        run.thread = threading.Thread(
            target=self._work, args=(run, corpus), name=f"nsp-train-{run.run_id}", daemon=True
        )
        run.thread.start()
        return run

    def stop(self, session_id: str) -> None:
        run = self.run_for(session_id)
        if run is not None:
            run.request_stop()

    def reset(self, session_id: str) -> None:
        """Stop this session's run (if any), forget it and delete its checkpoint, so the page starts over."""
        with self._lock:
            run = self._runs.pop(session_id, None)
            if run is None:
                return
            run.forgotten = True
            ended = not run.active  # else its thread sees `forgotten` when it ends and deletes what it saved
        run.request_stop(discard=True)
        if ended:
            self._delete_checkpoint(run)

    def _forget_stale(self) -> list[TrainingRun]:
        """Drop ended runs of sessions quiet for FORGET_AFTER_S (under the lock); the caller deletes their folders."""
        now, dropped = time.monotonic(), []
        for session_id, run in list(self._runs.items()):
            if not run.active and now - run.last_heartbeat > FORGET_AFTER_S:
                run.forgotten = True
                dropped.append(self._runs.pop(session_id))
        return dropped

    def _root(self) -> Path:
        return self.checkpoint_root or checkpoints_dir()

    def _delete_checkpoint(self, run: TrainingRun) -> None:
        # By run id, not run.checkpoint: a save that failed halfway leaves a folder but no checkpoint.
        run.checkpoint = None
        self._delete_folder(self._root() / run.run_id)

    def _delete_folder(self, folder: Path) -> None:
        """Delete a checkpoint folder, but only a run-* folder directly under this manager's root."""
        root = self._root().resolve()
        if (
            folder.name.startswith(RUN_PREFIX)
            and not folder.is_symlink()
            and folder.is_dir()
            and folder.resolve().parent == root
        ):
            shutil.rmtree(folder, ignore_errors=True)  # a half-deleted folder is still better than a crash
            with self._lock:
                listeners = list(self._deletion_listeners)
            for listener in listeners:
                listener(folder)

    def _prune_checkpoints(self) -> None:
        """Keep the newest `max_checkpoints` run folders under the root; never touch an active run's folder."""
        root = self._root()
        with self._lock:
            runs = {run.run_id: run for run in self._runs.values()}
        try:
            folders = [
                p
                for p in root.iterdir()
                if p.name.startswith(RUN_PREFIX) and p.is_dir() and not (p.name in runs and runs[p.name].active)
            ]
            folders.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        except OSError:  # e.g. another thread deleted a folder meanwhile: prune next time
            return
        for folder in folders[self.max_checkpoints :]:
            self._delete_folder(folder)
            run = runs.get(folder.name)
            if run is not None:  # its page still shows it: say why the model is gone
                run.checkpoint = None
                run.message = (
                    f"{run.message} Its checkpoint was deleted to make room for newer runs "
                    f"({MAX_CHECKPOINTS_ENV}={self.max_checkpoints})."
                ).strip()

    def _job(self, run: TrainingRun, corpus: Corpus | None) -> WorkerJob:
        return WorkerJob(
            trainer_class=Trainer,
            config=run.config,
            out_dir=self._root() / run.run_id,
            corpus=corpus,
            threads=os.cpu_count() or 1,  # every core: the child runs below the page's priority (worker.NICENESS)
            server_pid=os.getpid(),
            environment=dict(os.environ),
        )

    def _watch(self, run: TrainingRun, process: Any, messages: Any) -> dict[str, Any]:
        """Relay the child's messages until its last one (or its death); stop it when the page goes quiet."""
        state: dict[str, Any] = {"end": None, "abandoned": False, "save_problem": "", "failed": None}
        while True:
            try:
                message = messages.get(timeout=WATCH_S)
            except queue.Empty:
                if not process.is_alive():  # killed, or crashed without a word: never leave the run "running"
                    state["failed"] = Failed(
                        f"The training process ended unexpectedly (exit code {process.exitcode}).", 0
                    )
                    return state
                message = None
            if isinstance(message, WorkerDone):
                return state
            if message is not None:
                self._receive(run, message, state)
            if not state["abandoned"] and time.monotonic() - run.last_heartbeat > self.heartbeat_timeout:
                state["abandoned"] = True  # the page stopped asking: its tab is closed
                run.request_stop(discard=True)
            if run.stop_requested is not None and time.monotonic() - run.stop_requested > STOP_GRACE_S:
                process.kill()  # the next get() times out, sees it dead and ends the run

    def _receive(self, run: TrainingRun, message: Any, state: dict[str, Any]) -> None:
        """Take in one message of the child: an event for the page, or what became of its checkpoint."""
        if isinstance(message, Event):
            run.add(message)
            if isinstance(message, EndEvent):
                state["end"] = message
        elif isinstance(message, Saved):
            self._saved(run, message.folder)
        elif isinstance(message, SaveFailed):
            state["save_problem"] = message.message
        elif isinstance(message, Failed):
            state["failed"] = message

    def _saved(self, run: TrainingRun, folder: Path) -> None:
        run.checkpoint = folder

    def _outcome(self, run: TrainingRun, state: dict[str, Any]) -> tuple[str, str]:
        """(status, message) of a run whose child is done."""
        end, failed = state["end"], state["failed"]
        if failed is not None:
            if end is None:  # the page shows the run's end from its events
                run.add(EndEvent("error", failed.step, 0.0, failed.message))
            return "error", failed.message
        if end is None:
            return "error", "The training process ended without a word."
        status, message = end.status, end.message
        if state["save_problem"]:
            message = end.message = f"{message} {state['save_problem']}".strip()
        if state["abandoned"]:
            message = f"Stopped at step {end.step}: the page stopped checking in for {self.heartbeat_timeout:g} s."
            return "abandoned", message
        return status, message

    def _work(self, run: TrainingRun, corpus: Corpus | None) -> None:
        # Whatever fails, the finally block ends the run: a run stuck "running" would hold a slot (with
        # max_runs=1, the whole server's) until a restart.
        status, message, process = "error", "", None
        try:
            process, messages = worker.start_worker(
                self._job(run, corpus), f"nsp-train-{run.run_id}", run.stop_event, run.discard
            )
            run.status = "running"
            status, message = self._outcome(run, self._watch(run, process, messages))
        except Exception as err:
            status, message = "error", failure_text(err)
            if not any(isinstance(e, EndEvent) for e in run.events()):
                run.add(EndEvent("error", 0, 0.0, message))
        finally:
            if process is not None:
                process.join(timeout=STOP_GRACE_S)
                if process.is_alive():
                    process.kill()
            release_slot(run.slot)
            with self._lock:  # together with reset(): exactly one of the two sees the run end after it was forgotten
                run.message, run.status = message, status
                orphan = run.forgotten or status == "abandoned" or run.checkpoint is None
            if orphan:  # by run id: a child that died while saving leaves a folder but no checkpoint
                self._delete_checkpoint(run)
            else:
                self._prune_checkpoints()


_manager: RunManager | None = None
_manager_lock = threading.Lock()


def get_manager() -> RunManager:
    """The one manager of this server process, shared by every browser session."""
    global _manager
    with _manager_lock:
        if _manager is None:
            _manager = RunManager()
            # The forkserver's imports take seconds: begin them with the first page, not the first Start.
            threading.Thread(target=worker.prepare, name="nsp-train-prepare", daemon=True).start()
        return _manager
