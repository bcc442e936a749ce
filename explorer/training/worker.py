"""An in-app training run in a process of its own, so that its steps and the page's reruns do not share one GIL.

The run manager (explorer.training.runs) starts `train_in_worker` in a child process running the same
Trainer loop as `python -m explorer train`. The child streams every typed event back over a queue, then
the fate of its checkpoint (`Saved` or `SaveFailed`), or `Failed` when the run could not even start, and
always `WorkerDone` last. The manager asks it to stop with `stop` (Stop, Reset, the abandoned-run timeout)
and to leave no checkpoint with `discard` (Reset, abandoned runs). The trained model comes back as the
checkpoint folder the child writes (safetensors): the page loads models by folder anyway (the sidebar's
list, the download), so nothing else has to travel.

Fast starts: on POSIX the children come from a "forkserver", started once per server process with the
training modules (torch, transformers, the loop) and the default corpus already loaded (`PRELOAD`), so a
Start forks a ready interpreter instead of importing torch again. The forkserver is a fresh interpreter,
not a fork of the server: no Streamlit session, thread or lock is inherited, and neither it nor a child
imports the server's main module (see _without_main). Where forkserver does not exist (Windows) the
slower "spawn" is used.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import spawn
from pathlib import Path
from typing import Any

import torch

from explorer.corpus import Corpus
from explorer.training import data
from explorer.training.checkpoints import save_checkpoint
from explorer.training.config import TrainConfig

METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
CONTEXT: Any = multiprocessing.get_context(METHOD)  # typeshed gives "spawn" and "forkserver" one base type
PRELOAD = ["explorer.training.preload"]
_prepared = False
_prepare_lock = threading.Lock()
_launching = threading.local()  # .active: this thread is starting a training child or the forkserver


@dataclass
class Saved:
    folder: Path


@dataclass
class SaveFailed:
    message: str


@dataclass
class Failed:
    """The run stopped outside the loop's own error handling (e.g. the model or corpus would not load)."""

    message: str
    step: int


@dataclass
class WorkerDone:
    """The worker's last message: after it, the queue stays empty."""


@dataclass
class WorkerJob:
    """Everything the child needs, sent once at its start (pickled)."""

    trainer_class: Any  # explorer.training.loop.Trainer; a module-level class, so it pickles by name
    config: TrainConfig
    out_dir: Path
    corpus: Corpus | None = None  # None: the child loads config.corpus itself (the default one is preloaded)
    threads: int = 1  # torch threads for the run
    server_pid: int = 0  # the child stops when this process is gone (a crashed server leaves no run behind)
    environment: dict[str, str] = field(default_factory=dict)  # the server's, as it is at Start


def failure_text(err: Exception) -> str:
    # A ValueError (TrainConfigError, CorpusError, ...) is already written for the student.
    return str(err) if isinstance(err, ValueError) else f"{err.__class__.__name__}: {err}"


def _without_main(get_preparation_data: Callable[[str], dict[str, Any]]) -> Callable[[str], dict[str, Any]]:
    """multiprocessing's preparation data, minus the main module when this thread starts a training child.

    A child of "spawn" or "forkserver" first imports the parent's __main__ again. In a Streamlit server that
    is the page script itself (Streamlit puts it into sys.modules["__main__"]), so the child would draw the
    whole page; it needs none of it: its target and arguments pickle by module name.
    """

    def prepared(name: str) -> dict[str, Any]:
        data = get_preparation_data(name)
        if getattr(_launching, "active", False):
            data.pop("init_main_from_name", None)
            data.pop("init_main_from_path", None)
        return data

    return prepared


@contextmanager
def _launch() -> Iterator[None]:
    _launching.active = True
    try:
        yield
    finally:
        _launching.active = False


def prepare() -> None:
    """Start this process's forkserver now (once), with PRELOAD imported, so that the first Start only forks."""
    global _prepared
    with _prepare_lock:
        if _prepared:
            return
        _prepared = True
        # Other users of multiprocessing in the server are unaffected: the wrapper changes nothing outside _launch().
        spawn.get_preparation_data = _without_main(spawn.get_preparation_data)  # type: ignore[assignment]
        if METHOD == "forkserver":
            CONTEXT.set_forkserver_preload(PRELOAD)
            from multiprocessing import forkserver

            with _launch():
                forkserver.ensure_running()


def start_worker(job: WorkerJob, name: str, stop: Any, discard: Any) -> tuple[Any, Any]:
    """Start the child with its two flags (CONTEXT.Event): (the process, the queue of its messages)."""
    prepare()
    messages = CONTEXT.Queue()
    process = CONTEXT.Process(
        target=train_in_worker,
        args=(job, messages, stop, discard),
        name=name,
        daemon=True,  # a server that exits takes its runs with it
    )
    with _launch():
        process.start()
    return process, messages


class _StopOrOrphaned:
    """The loop's stop flag: set by the manager, or as good as set once the server process is gone."""

    def __init__(self, stop: Any, server_pid: int):
        self.stop, self.server_pid = stop, server_pid

    def is_set(self) -> bool:
        return self.stop.is_set() or not _alive(self.server_pid)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else (the pid was reused): treat as gone
        return False
    return True


# The training child's niceness: above the server's (0), so that when a class is editing, the page's work
# is scheduled first and the run takes the CPU time the class leaves; alone on the machine it loses nothing.
NICENESS = 10


def _settle(job: WorkerJob) -> None:
    """Make the child read the server's settings as they are now, not as they were when the forkserver began,
    and step back to a lower priority before any computing thread starts (Linux threads inherit it)."""
    os.nice(NICENESS)
    os.environ.clear()
    os.environ.update(job.environment)
    if job.threads > 0 and torch.get_num_threads() != job.threads:
        torch.set_num_threads(job.threads)


def train_in_worker(job: WorkerJob, messages: Any, stop: Any, discard: Any) -> None:
    """The child process's whole life: train, stream the events, save the checkpoint unless told to discard."""
    trainer = None
    try:
        _settle(job)
        corpus = job.corpus if job.corpus is not None else data.load_training_corpus(job.config.corpus)
        trainer = job.trainer_class(job.config, corpus=corpus)
        for event in trainer.run(_StopOrOrphaned(stop, job.server_pid)):
            messages.put(event)
        if trainer.step > 0 and not discard.is_set():
            try:
                save_checkpoint(trainer.model, trainer.tokenizer, job.out_dir, job.config, trainer.log)
                messages.put(Saved(Path(job.out_dir)))
            except Exception as err:
                messages.put(SaveFailed(f"Saving the checkpoint failed: {err}"))
    except Exception as err:
        messages.put(Failed(failure_text(err), getattr(trainer, "step", 0)))
    finally:
        messages.put(WorkerDone())
