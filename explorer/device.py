"""Choosing where the model runs: auto (CUDA, then Apple MPS, then CPU), or a forced choice."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
DEVICE_NAMES = (*DEVICE_CHOICES, "gpu")  # what a user may type: gpu = CUDA, or Apple MPS where that is the GPU


@dataclass(frozen=True)
class DeviceChoice:
    device: torch.device
    requested: str
    message: str | None = None  # set when the request could not be honoured


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def resolve_device(requested: str = "auto") -> DeviceChoice:
    """Map a user's device choice onto a real device, falling back to CPU with a message."""
    key = (requested or "auto").strip().lower()
    if key == "gpu":
        key = "cuda" if torch.cuda.is_available() or not _mps_available() else "mps"
    if key not in DEVICE_CHOICES:
        raise ValueError(f"unknown device {requested!r}: choose one of {', '.join(DEVICE_CHOICES)}")
    if key == "auto":
        if torch.cuda.is_available():
            return DeviceChoice(torch.device("cuda"), requested)
        if _mps_available():
            return DeviceChoice(torch.device("mps"), requested)
        return DeviceChoice(torch.device("cpu"), requested)
    if key == "cuda" and not torch.cuda.is_available():
        return DeviceChoice(
            torch.device("cpu"), requested, "No CUDA GPU is available here, so the model runs on the CPU."
        )
    if key == "mps" and not _mps_available():
        return DeviceChoice(
            torch.device("cpu"), requested, "Apple MPS is not available here, so the model runs on the CPU."
        )
    return DeviceChoice(torch.device(key), requested)


THREADS_ENV = "NSP_EXPLORER_TORCH_THREADS"


def limit_threads_from_env() -> int:
    """Apply NSP_EXPLORER_TORCH_THREADS (if set to a positive number) and return torch's thread count.

    A classroom server runs one process per core (./serve_classroom.sh); there, torch's default of
    one thread per core makes each forward pass fight the other processes for the same cores.
    """
    value = os.environ.get(THREADS_ENV, "").strip()
    if value.isdigit() and int(value) > 0 and torch.get_num_threads() != int(value):
        torch.set_num_threads(int(value))
    return torch.get_num_threads()


# A forward pass over one short pair takes the same time on one intra-op thread as on two (MiniLM, ~20 tokens:
# 27-28 ms either way on a 2-core laptop), but on two it waits for the slower thread whenever another process
# holds a core, e.g. the student's own browser drawing the previous answer. Longer inputs gain from every core.
SHORT_PASS_TOKENS = 128


@contextmanager
def threads_for_pass(tokens: int, device: torch.device) -> Iterator[None]:
    """One intra-op thread for a CPU pass over at most SHORT_PASS_TOKENS tokens; torch's own count otherwise.

    torch keeps the count per thread (and as the default of new threads), so it is put back on the way out.
    """
    before = torch.get_num_threads()
    single = device.type == "cpu" and tokens <= SHORT_PASS_TOKENS and before > 1
    if single:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if single:
            torch.set_num_threads(before)
