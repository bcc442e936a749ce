"""Which model sources a visitor of the page may open: the policy set by NSP_EXPLORER_MODEL_PATHS.

"any" (the default): every hub id and folder. "checkpoints" (a shared classroom server): hub ids and
models trained on this server (under checkpoints_dir()), never other folders of the server.
"""

from __future__ import annotations

import os
from pathlib import Path

from explorer.models import checkpoints_dir

POLICY_VARIABLE = "NSP_EXPLORER_MODEL_PATHS"
ANY_PATH = "any"
CHECKPOINTS_ONLY = "checkpoints"
REFUSED_MESSAGE = "This server loads only Hugging Face ids and models trained on it, not other folders."


def model_path_policy() -> str:
    """The policy in force: CHECKPOINTS_ONLY when the variable says so, else ANY_PATH."""
    value = os.environ.get(POLICY_VARIABLE, ANY_PATH).strip().lower()
    return CHECKPOINTS_ONLY if value == CHECKPOINTS_ONLY else ANY_PATH


def page_may_open(source: str) -> bool:
    """Whether the page may load this model id or folder under the policy in force."""
    if model_path_policy() != CHECKPOINTS_ONLY:
        return True
    try:
        path = Path(source).expanduser()
        if not path.exists() and not source.startswith((".", "/", "~")):
            return True  # a hub id
        return path.resolve().is_relative_to(checkpoints_dir().resolve())
    except (OSError, ValueError, RuntimeError):
        # "~name" of an unknown user, a NUL byte, a symlink loop: not a folder this server may open.
        return False
