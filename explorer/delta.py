"""A fine-tuned model stored as the difference from its base: only the tensors training changed.

The shipped NSP model keeps the word embeddings (30522 x 384, half the weights) frozen at the base
package's values, so the repository stores every other tensor in fp16 safetensors shards (each below
16 MB) plus a manifest; loading = base package + stored tensors.

A delta may also store some weight matrices as a low-rank difference from the base: for such a key K the
shards hold K@up (out x r) and K@down (r x in), the manifest lists K under "low_rank", and loading adds
up @ down to the base's K. The SOP model is stored this way (every encoder layer moved a little; rank 96
keeps it under 10 MB).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

MANIFEST = "delta.json"
FROZEN_BY_DEFAULT = ("bert.embeddings.word_embeddings.weight",)
SHARD_BYTES = 12 * 1024 * 1024
LOW_RANK_UP, LOW_RANK_DOWN = "@up", "@down"  # suffixes of a low-rank matrix's two stored factors


FROZEN_TOLERANCE = 1e-3  # an fp16 copy of the base differs by less; a frozen tensor that was trained differs more


class DeltaError(RuntimeError):
    pass


def frozen_problem(model, reference, frozen: tuple[str, ...] = FROZEN_BY_DEFAULT) -> str | None:
    """Why `model` cannot be stored as a delta of `reference` (a frozen tensor differs or is missing), or None."""
    own, ref = model.state_dict(), reference.state_dict()
    for key in frozen:
        if key not in own or key not in ref or own[key].shape != ref[key].shape:
            return f"{key} does not match between the model and its base."
        drift = (own[key].float().cpu() - ref[key].float().cpu()).abs().max().item()
        if drift > FROZEN_TOLERANCE:
            return f"{key} was changed by training (max difference {drift:.4g}); it must stay frozen."
    return None


def top_layers_keys(model, k: int) -> tuple[str, ...]:
    """The tensors a top-K run trains (the last k encoder layers, the pooler and the head); the rest stay frozen."""
    n_layers = int(model.config.num_hidden_layers)
    prefixes = (*(f"bert.encoder.layer.{i}." for i in range(n_layers - k, n_layers)), "bert.pooler.", "cls.")
    return tuple(key for key in model.state_dict() if key.startswith(prefixes))


def frozen_except(model, trained: tuple[str, ...]) -> tuple[str, ...]:
    """Every tensor of the model that is not in `trained`: what a delta of only the trained tensors leaves out."""
    return tuple(key for key in model.state_dict() if key not in set(trained))


def is_delta_folder(path: Path) -> bool:
    return (Path(path) / MANIFEST).is_file()


def low_rank_difference(trained: torch.Tensor, base: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(up, down) with up @ down the best rank-`rank` approximation of trained - base (truncated SVD)."""
    u, s, vh = torch.linalg.svd(trained.detach().float().cpu() - base.detach().float().cpu(), full_matrices=False)
    return (u[:, :rank] * s[:rank]).contiguous(), vh[:rank].contiguous()


def low_rank_keys(model, rank: int) -> tuple[str, ...]:
    """The weight matrices worth storing at `rank`: 2-D, not embeddings, and more than `rank` in both dimensions."""
    return tuple(
        key
        for key, value in model.state_dict().items()
        if value.ndim == 2 and "embeddings" not in key and min(value.shape) > rank
    )


def save_delta(
    model,
    out_dir: Path,
    base: str,
    frozen: tuple[str, ...] = FROZEN_BY_DEFAULT,
    info: dict | None = None,
    low_rank: tuple[torch.nn.Module, int] | None = None,
) -> Path:
    """Write every tensor of `model` except the frozen ones, in fp16 shards, with a manifest.

    low_rank = (base model, rank): store the weight matrices of `low_rank_keys` as rank-`rank` differences from
    that model (which must be what `base` loads), the rest in full.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    own = {k: v for k, v in model.state_dict().items() if k not in frozen}
    reduced: list[str] = []
    state: dict[str, torch.Tensor] = {}
    if low_rank is not None:
        reference, rank = low_rank
        reference_state = reference.state_dict()
        reduced = [key for key in low_rank_keys(model, rank) if key in own]
        for key in reduced:
            up, down = low_rank_difference(own.pop(key), reference_state[key], rank)
            state[key + LOW_RANK_UP], state[key + LOW_RANK_DOWN] = up, down
    state.update(own)
    state = {k: v.detach().to("cpu", torch.float16).contiguous() for k, v in state.items()}
    shards: list[dict[str, torch.Tensor]] = []
    current: dict[str, torch.Tensor] = {}
    size = 0
    for key in sorted(state):
        nbytes = state[key].numel() * 2
        if current and size + nbytes > SHARD_BYTES:
            shards.append(current)
            current, size = {}, 0
        current[key] = state[key]
        size += nbytes
    shards.append(current)
    names = []
    for i, shard in enumerate(shards):
        name = f"delta-{i:02d}.safetensors"
        save_file(shard, str(out_dir / name))
        names.append(name)
    manifest = {
        "base": base,
        "dtype": "float16",
        "frozen": list(frozen),
        "low_rank": reduced,
        "shards": names,
        "config": model.config.to_dict(),
        "info": info or {},
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return out_dir


def read_manifest(folder: Path) -> dict:
    try:
        return json.loads((Path(folder) / MANIFEST).read_text())
    except (OSError, ValueError) as err:
        raise DeltaError(f"{folder} has no readable {MANIFEST}: {err}") from err


def _fitting(target: torch.Tensor, key: str, value: torch.Tensor) -> torch.Tensor:
    """`value` in the base tensor's dtype, or DeltaError if its shape differs from the base's."""
    if target.shape != value.shape:
        raise DeltaError(f"shape of {key} differs: {tuple(value.shape)} vs base {tuple(target.shape)}")
    return value.to(target.dtype)


def apply_delta(model, folder: Path) -> None:
    """Overwrite the model's tensors with the stored ones; only the declared frozen tensors may be absent."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    stored: dict[str, torch.Tensor] = {}
    for name in manifest["shards"]:
        stored.update(load_file(str(folder / name)))
    own = model.state_dict()
    reduced = list(manifest.get("low_rank", []))
    factors = {key + suffix for key in reduced for suffix in (LOW_RANK_UP, LOW_RANK_DOWN)}
    unexpected = sorted(set(stored) - set(own) - factors) + sorted(set(reduced) - set(own))
    missing = sorted(set(own) - set(stored) - set(manifest["frozen"]) - set(reduced)) + sorted(factors - set(stored))
    if unexpected or missing:
        raise DeltaError(f"delta does not fit the base model: unexpected {unexpected[:3]}, missing {missing[:3]}")
    with torch.no_grad():
        for key in reduced:  # base + up @ down
            update = stored.pop(key + LOW_RANK_UP).float() @ stored.pop(key + LOW_RANK_DOWN).float()
            own[key].add_(_fitting(own[key], key, update))
        for key, value in stored.items():
            own[key].copy_(_fitting(own[key], key, value))
