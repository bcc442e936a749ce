"""`sample`: print sentence pairs sampled the way BERT builds its NSP training data."""

from __future__ import annotations

import json

from explorer.cli import CommandError
from explorer.corpus import CORPORA, CorpusError, known_corpus_name, load_named_corpus
from explorer.corpus_text import corpus_from_path
from explorer.encoding import DEFAULT_MAX_LENGTH
from explorer.labels import LABEL_NAMES
from explorer.sampling import MODE_DESCRIPTIONS, MODES, SHORT_SEQ_PROB, PairSampler, SamplingError
from explorer.sampling.recipe import RECIPE_SETTINGS, recipe_problem

MAX_PAIRS = 100_000  # more is a typo (or a job for a script), not a page of pairs to print

HELP = "Sample IsNext/NotNext sentence pairs from a corpus, as BERT's pretraining data does."


def add_arguments(parser) -> None:
    parser.add_argument("--n", type=int, default=10, help="number of pairs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--corpus",
        help=f"a corpus name ({', '.join(CORPORA)}, or several joined with +) or a plain-text "
        "file (BERT format or paragraphs); default: State of the Union",
    )
    parser.add_argument(
        "--mode",
        choices=MODES,
        default="bert",
        help="; ".join(f"{name}: {label}" for name, label in MODE_DESCRIPTIONS.items()),
    )
    parser.add_argument("--max-length", type=int, default=DEFAULT_MAX_LENGTH, help="max sequence length in tokens")
    parser.add_argument("--not-next-share", type=float, default=0.5, help="share of NotNext (or swapped) pairs")
    parser.add_argument("--short-seq-prob", type=float, default=SHORT_SEQ_PROB)
    parser.add_argument("--hard-negatives", action="store_true", help="NotNext B from A's document, not adjacent")
    parser.add_argument(
        "--similar-negatives",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="share of NotNext B from one of the 10 documents most like A's (TF-IDF)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")


def _tokenizer():
    # Only the bundled vocabulary is needed (bert-base-uncased WordPiece): no model weights to load.
    from transformers import BertTokenizerFast

    from explorer.models import bundled_encoder_dir

    return BertTokenizerFast.from_pretrained(bundled_encoder_dir())


def _corpus(choice: str | None):
    if not choice or known_corpus_name(choice):
        return load_named_corpus(choice or "")
    return corpus_from_path(choice)


def _checked_recipe(args) -> dict:
    """The sampling settings given, as PairSampler's arguments, once they are in range."""
    if not 0 <= args.n <= MAX_PAIRS:
        raise CommandError(f"--n must be from 0 to {MAX_PAIRS:,}")
    recipe = {name: getattr(args, name) for name in RECIPE_SETTINGS}
    problem = recipe_problem(**recipe, spell=lambda name: "--" + name.replace("_", "-"))  # the flag's spelling
    if problem:
        raise CommandError(problem)
    return recipe


def run(args) -> int:
    recipe = _checked_recipe(args)
    try:
        corpus = _corpus(args.corpus)
        pairs = PairSampler(corpus, _tokenizer(), seed=args.seed, **recipe).sample_many(args.n)
    except (CorpusError, SamplingError) as err:
        raise CommandError(str(err)) from err
    for pair in pairs:
        if args.json:
            print(json.dumps(pair.to_dict(), ensure_ascii=False))
        else:
            print(
                f"{LABEL_NAMES[pair.label]}  doc {pair.doc_a} -> doc {pair.doc_b}  "
                f"({len(pair.a_ids)}+{len(pair.b_ids)} tokens)"
            )
            print(f"  A: {pair.a}")
            print(f"  B: {pair.b}")
    return 0
