"""Why this answer: the four explanations of one pair behind one call, for the page and the CLI.

- "attention": where [CLS] looks, per layer and head, and attention rollout (explorer.attention);
- "ig": integrated gradients on the word embeddings (explorer.attribution);
- "occlusion": each word deleted in turn (explorer.attribution);
- "deletion": how faithful each ranking is (explorer.faithfulness), which needs the three above.

Each method has a cost estimate so that a long pair gets a clear "too long for this method" instead of
a page that hangs: cost is counted in token passes through a MiniLM-L6-sized encoder (a backward pass
counts twice) and converted to seconds with the rate measured on 2 CPU cores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.attention import AttentionResult, attention_pass
from explorer.attribution import DEFAULT_IG_STEPS, IntegratedGradients, Occlusion, integrated_gradients, occlusion
from explorer.encoding import DEFAULT_MAX_LENGTH, PairEncoding, encode_pair
from explorer.faithfulness import RANDOM, RANDOM_ORDERS, DeletionCurves, deletion_curves, evidence_order, random_orders
from explorer.labels import IS_NEXT, NOT_NEXT
from explorer.models import LoadedModel
from explorer.pair_words import pair_words, word_scores

METHODS = ("attention", "ig", "occlusion", "deletion")
METHOD_NAMES = {
    "attention": "Where [CLS] looks (attention)",
    "ig": "Integrated gradients",
    "occlusion": "Occlusion (delete each word)",
    "deletion": "Deletion curves (faithfulness)",
}
MIN_IG_STEPS, MAX_IG_STEPS = 4, 256
TIME_BUDGET_S = 5.0  # the longest one explanation may take on the page before it is refused
# Token passes per second through MiniLM-L6 (6 layers x 384) on 2 CPU cores, batched (docs/offline.md:
# 32 pairs x 64 tokens in ~0.33 s); a GPU is counted as 20x faster.
CPU_TOKEN_PASSES_PER_S = 6000.0
GPU_SPEEDUP = 20.0
REFERENCE_WIDTH = 6 * 384  # layers x hidden of MiniLM-L6


class TooLongToExplain(ValueError):
    """The method would take longer than TIME_BUDGET_S on this pair; the message says what to change."""


@dataclass
class Explanation:
    encoding: PairEncoding
    attention: AttentionResult | None = None
    ig: IntegratedGradients | None = None
    occlusion: Occlusion | None = None
    deletion: DeletionCurves | None = None


def token_passes(method: str, n_tokens: int, n_words: int, steps: int) -> float:
    """Tokens the method pushes through the encoder (a backward pass counts as 2 forwards)."""
    ig = 3.0 * steps * n_tokens + 2 * n_tokens
    occ = (n_words + 1.0) * n_tokens
    per_method = {
        "attention": float(n_tokens),
        "ig": ig,
        "occlusion": occ,
        "deletion": n_tokens + ig + occ + (3 + RANDOM_ORDERS) * n_words * n_tokens,
    }
    return per_method[method]


def estimated_seconds(loaded: LoadedModel, method: str, encoding: PairEncoding, steps: int) -> float:
    config = loaded.model.config
    width = config.num_hidden_layers * config.hidden_size / REFERENCE_WIDTH
    rate = CPU_TOKEN_PASSES_PER_S * (GPU_SPEEDUP if loaded.device.type == "cuda" else 1.0)
    n_tokens = len(encoding.tokens)
    attention = 1.0 + n_tokens / (6.0 * config.hidden_size)  # attention's T x T work next to the dense layers'
    return token_passes(method, n_tokens, len(pair_words(encoding)), steps) * width * attention / rate


def check_budget(loaded: LoadedModel, method: str, encoding: PairEncoding, steps: int) -> None:
    seconds = estimated_seconds(loaded, method, encoding, steps)
    if seconds > TIME_BUDGET_S:
        fewer_steps = "choose fewer integration steps, " if method in ("ig", "deletion") else ""
        raise TooLongToExplain(
            f"This pair is too long for {METHOD_NAMES[method].lower()} within the time budget: "
            f"{len(encoding.tokens)} tokens would take about {seconds:.0f} s here (the limit is "
            f"{TIME_BUDGET_S:.0f} s). To explain it, {fewer_steps}shorten the sentences or lower the max sequence "
            "length."
        )


def check_method(method: str, steps: int) -> None:
    if method not in METHODS:
        raise ValueError(f"Unknown method {method!r}; choose one of {', '.join(METHODS)}.")
    if not MIN_IG_STEPS <= int(steps) <= MAX_IG_STEPS:
        raise ValueError(f"The number of steps must be between {MIN_IG_STEPS} and {MAX_IG_STEPS}.")


def explain(
    loaded: LoadedModel,
    a: str,
    b: str,
    method: str,
    max_length: int = DEFAULT_MAX_LENGTH,
    steps: int = DEFAULT_IG_STEPS,
) -> Explanation:
    """Run one method (deletion runs all three rankings first). Raises PairInputError, TooLongToExplain."""
    check_method(method, steps)
    encoding = encode_pair(loaded.tokenizer, a, b, max_length, loaded.max_positions)
    check_budget(loaded, method, encoding, steps)
    out = Explanation(encoding=encoding)
    if method in ("attention", "deletion"):
        out.attention = attention_pass(loaded, a, b, max_length)
    if method in ("ig", "deletion"):
        out.ig = integrated_gradients(loaded, encoding, steps)
    if method in ("occlusion", "deletion"):
        out.occlusion = occlusion(loaded, encoding)
    if method == "deletion":
        out.deletion = faithfulness_of(loaded, out)
    return out


def faithfulness_of(loaded: LoadedModel, done: Explanation) -> DeletionCurves:
    """Deletion curves for the IG, occlusion and rollout rankings of an explanation, and random orders."""
    assert done.attention is not None and done.ig is not None and done.occlusion is not None
    words = pair_words(done.encoding)
    answer = IS_NEXT if done.occlusion.p_pair >= 0.5 else NOT_NEXT
    orders = {
        "integrated gradients": [evidence_order(word_scores(words, done.ig.token_scores), answer)],
        "occlusion": [evidence_order(done.occlusion.word_scores, answer)],
        "attention rollout": [evidence_order(word_scores(words, done.attention.rollout), answer, signed=False)],
        RANDOM: random_orders(len(words)),
    }
    return deletion_curves(loaded, done.encoding, orders, answer)


def _floats(values: np.ndarray) -> list[float]:
    return [float(v) for v in values]


def explanation_to_dict(done: Explanation) -> dict:
    """The JSON face: tokens, per-token and per-word scores, the completeness check, the curves."""
    enc = done.encoding
    words = pair_words(enc)
    out: dict = {
        "tokens": enc.tokens,
        "roles": enc.roles,
        "words": [{"text": w.text, "part": w.role, "tokens": list(w.token_indices)} for w in words],
    }
    if done.attention is not None:
        out["attention"] = {
            "cls_shares": {
                "parts": ["[CLS]", "A", "[SEP]", "B"],
                "per_layer_head": done.attention.cls_shares.round(6).tolist(),
            },
            "rollout_per_token": _floats(done.attention.rollout),
            "rollout_per_word": _floats(word_scores(words, done.attention.rollout)),
            "logits": _floats(done.attention.logits),
        }
    if done.ig is not None:
        ig = done.ig
        out["integrated_gradients"] = {
            "target": "log p(IsNext)",
            "baseline": "[PAD] for every token of A and B; [CLS], [SEP], positions and segments kept",
            "steps": ig.steps,
            "per_token": _floats(ig.token_scores),
            "per_word": _floats(word_scores(words, ig.token_scores)),
            "sum": ig.total,
            "f_pair": ig.f_pair,
            "f_baseline": ig.f_baseline,
            "completeness_error": ig.completeness_error,
        }
    if done.occlusion is not None:
        occ = done.occlusion
        out["occlusion"] = {
            "p_is_next": occ.p_pair,
            "p_is_next_without_word": _floats(occ.p_without),
            "per_word": _floats(occ.word_scores),
        }
    if done.deletion is not None:
        dc = done.deletion
        out["deletion"] = {
            "answer": dc.answer_name,
            "fractions": _floats(dc.fractions),
            "curves": {name: _floats(c) for name, c in dc.curves.items()},
            "area_under_curve": dc.areas,
            "orders": dc.orders,
        }
    return out
