"""The tail every benchmark's results file shares: threads, machine and date, written as JSON and printed."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

import torch


def write_results(path: Path, result: dict, machine_note: str = "") -> dict:
    """Add torch's thread count, the machine (with a note on its load) and the date; write and print the JSON."""
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    full = {
        **result,
        "torch_threads": torch.get_num_threads(),
        "machine": f"{machine}, {machine_note}" if machine_note else machine,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(full, indent=1) + "\n")
    print(json.dumps(full, indent=1))
    return full
