"""Sample NSP training pairs the way BERT's create_pretraining_data.py builds them.

Modes
- "bert": BERT's document walk. A target length (max_length - 3, or with probability short_seq_prob
  a random length in [2, max_length - 3]); whole sentences accumulate into a chunk until the target
  is reached or the document ends; A is the first a_end sentences (a_end uniform in [1, len - 1]);
  B is the rest of the chunk (IsNext) or, for a one-sentence chunk or with probability
  not_next_share, text from a *different* document starting at a random sentence and filled to the
  target, with the unused sentences of the chunk put back; truncate_seq_pair then trims the longer
  side from a random end.
- "sentences": A and B are one sentence each; B is the next sentence (IsNext) or a random sentence
  of another document (NotNext). Easier to read in class.
- "sop": ALBERT's sentence-order prediction: A and B are two consecutive segments of a chunk;
  label 0 keeps the order, label 1 (with probability not_next_share) swaps them.
- hard_negatives: a NotNext B comes from A's own document, with at least one sentence between them
  (True: every NotNext pair; a number q in (0, 1): that share of them, the rest from other documents).
- same_source_negatives: in a mixture of corpora ("sotu+wiki"), a NotNext B comes from another
  document of A's own source. With BERT's uniform draw most NotNext pairs of a mixture cross sources,
  and a model learns to spot the change of style instead of the change of topic.
- similar_negatives: a share of the NotNext B come from one of the SIMILAR_NEIGHBOURS documents most
  like A's (TF-IDF cosine over the words, among A's candidates: its source with same_source_negatives).
  Two articles on one theme are the NotNext pairs a topic detector gets wrong.

Where this differs from BERT, on purpose:
- BERT draws the target length once per document pass; here it is drawn per chunk, so every pair
  independently has short_seq_prob of being short (BERT's per-document draw makes short documents
  passes produce many more pairs, so its pair-level short share is not short_seq_prob).
- BERT forces one-sentence chunks to NotNext, so its NotNext share is above 0.5. Here the label is
  drawn first with probability not_next_share and the next pair of that label is taken from BERT's
  stream (a thinning of the stream): every pair is built by BERT's procedure, and the label share is
  exactly what was asked for.
- BERT shuffles all instances at the end. Here several documents are walked at once and pairs wait
  in a small shuffle pool, so consecutive samples come from different documents.
- BERT tries 10 times to draw a different document and may silently use the same one; here B is
  drawn from the other documents only (a one-document corpus is refused).

Text of a pair: the original text of the kept tokens. Truncation works on WordPiece ids; the text
is cut at the character offsets of the first and last kept token, so casing and punctuation survive
and re-encoding the text gives the same ids (except where a cut falls inside a word: a kept
"##ing" re-encodes as "ing").

Every sentence is tokenised once per (corpus, tokenizer): lazily, a document at a time while the
walk enters it, and kept in process (and on disk for the named corpora, once complete).
"""

from __future__ import annotations

import hashlib
import itertools
import random
import re
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse

from explorer.corpus import CORPORA, Corpus, cache_dir, write_atomically
from explorer.encoding import DEFAULT_MAX_LENGTH, MIN_MAX_LENGTH, SPECIAL_TOKENS_IN_PAIR
from explorer.labels import IS_NEXT, NOT_NEXT

MODES = ("bert", "sentences", "sop")
MODE_DESCRIPTIONS = {
    "bert": "BERT's recipe: chunks of whole sentences up to the max length",
    "sentences": "single sentences: A and B are one sentence each",
    "sop": "sentence order (ALBERT): B follows A, or the two are swapped",
}
SHORT_SEQ_PROB = 0.1
ACTIVE_DOCUMENTS = 16  # documents walked at once, so that neighbouring samples mix documents
POOL_SIZE = 128  # pairs of each label waiting to be drawn at random (BERT shuffles all instances)
POOL_CAP = 8 * POOL_SIZE
BARREN_PASSES = 2  # full passes over the corpus without a pair of the label asked for before giving up
LOOKAHEAD_SENTENCES = 8  # sentences tokenised at once when B starts in a document not walked yet
SIMILAR_NEIGHBOURS = 10  # similar_negatives: B from one of the 10 documents most like A's
_WORD = re.compile(r"[^\W\d_]+")

# A ALBERT's reason for SOP, with its own numbers (ALBERT Table 5, see docs/nsp-reference.md).
SOP_RATIONALE = (
    "ALBERT proposed sentence-order prediction because NSP can be solved mostly by spotting a change "
    "of topic: a model trained on NSP scores 90.5% on NSP but only 52.0% (chance) on SOP, while a model "
    "trained on SOP scores 86.5% on SOP and still 78.9% on NSP, so SOP forces it to learn coherence."
)


class SamplingError(ValueError):
    """The corpus or the recipe cannot give the pairs asked for; the message says why."""


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    label: int  # 0 IsNext (or in order, for SOP), 1 NotNext (or swapped)
    doc_a: int
    doc_b: int
    mode: str
    a_ids: tuple[int, ...]  # WordPiece ids without special tokens, after truncation
    b_ids: tuple[int, ...]
    short: bool = False  # the short target length was drawn
    a_span: tuple[int, int] = (0, 0)  # source sentences [start, stop) in doc_a, before truncation
    b_span: tuple[int, int] = (0, 0)
    a_cut: int = 0  # tokens truncation removed from A
    b_cut: int = 0

    @property
    def n_tokens(self) -> int:
        return len(self.a_ids) + len(self.b_ids) + SPECIAL_TOKENS_IN_PAIR

    def to_dict(self) -> dict:
        return {
            "a": self.a,
            "b": self.b,
            "label": self.label,
            "doc_a": self.doc_a,
            "doc_b": self.doc_b,
            "mode": self.mode,
            "a_tokens": len(self.a_ids),
            "b_tokens": len(self.b_ids),
            "short": self.short,
            "a_span": list(self.a_span),
            "b_span": list(self.b_span),
            "a_cut": self.a_cut,
            "b_cut": self.b_cut,
        }


# --- tokenise every sentence once ---------------------------------------------------------------


# Every browser session of the app shares the caches below (and the tokenizers in them, which must not
# be called from two threads at once). One lock guards them; re-entrant because token_table builds a
# TokenTable, which asks for the tokenizer key again.
_LOCK = threading.RLock()
# Weak keys: a cached key must not keep the tokenizer of a model that was unloaded alive.
_TOKENIZER_KEYS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def tokenizer_key(tokenizer) -> str:
    """A content key for a tokenizer's vocabulary and normalisation (the same vocab gives the same ids)."""
    with _LOCK:
        key = _TOKENIZER_KEYS.get(tokenizer)
        if key is None:
            digest = hashlib.sha1(type(tokenizer).__name__.encode())
            digest.update(repr(sorted(tokenizer.get_vocab().items())).encode())
            digest.update(repr(tokenizer.init_kwargs.get("do_lower_case")).encode())
            digest.update(repr(tokenizer.init_kwargs.get("strip_accents")).encode())
            key = _TOKENIZER_KEYS[tokenizer] = digest.hexdigest()
        return key


class TokenTable:
    """WordPiece ids and character offsets of every sentence of a corpus, tokenised on first use."""

    def __init__(self, corpus: Corpus, tokenizer):
        if not getattr(tokenizer, "is_fast", False):
            raise TypeError("sampling needs a fast tokenizer (character offsets keep truncated text exact)")
        self.corpus = corpus
        self.tokenizer = tokenizer
        self.sentences = [s for doc in corpus.documents for s in doc]
        self.doc_starts = np.cumsum([0] + [len(doc) for doc in corpus.documents]).tolist()
        n = len(self.sentences)
        # Per sentence: its token ids and character offsets, None until tokenised (ensure_all fills every one).
        self.ids: list[Any] = [None] * n
        self.offsets: list[Any] = [None] * n
        self.lengths: list[int] = [-1] * n
        self.missing = n
        self.cache_path: Path | None = None
        if corpus.name in CORPORA:  # only named corpora: uploads would fill the disk
            name = f"tokens-{corpus.fingerprint[:16]}-{tokenizer_key(tokenizer)[:16]}.npz"
            self.cache_path = cache_dir() / name
            self._load()

    def ensure(self, start: int, stop: int) -> None:
        """Tokenise the global sentences [start, stop) not seen yet, in one batch call."""
        with _LOCK:  # another session may fill the same sentences; `missing` must count each once
            todo = [g for g in range(start, stop) if self.lengths[g] < 0]
            if not todo:
                return
            encoded = self.tokenizer(
                [self.sentences[g] for g in todo],
                add_special_tokens=False,
                return_offsets_mapping=True,
                return_attention_mask=False,
                return_token_type_ids=False,
            )
            for g, ids, offsets in zip(todo, encoded["input_ids"], encoded["offset_mapping"]):
                self.ids[g] = np.asarray(ids, dtype=np.int32)
                self.offsets[g] = np.asarray(offsets, dtype=np.int32).reshape(-1, 2)
                self.lengths[g] = len(ids)  # set last: readers check lengths before ids and offsets
            self.missing -= len(todo)
            if self.missing == 0:
                self._save()

    def ensure_all(self) -> None:
        self.ensure(0, len(self.sentences))

    def doc_lengths(self, doc: int) -> list[int]:
        start, stop = self.doc_starts[doc], self.doc_starts[doc + 1]
        self.ensure(start, stop)
        return self.lengths[start:stop]

    def length(self, doc: int, index: int) -> int:
        g = self.doc_starts[doc] + index
        if self.lengths[g] < 0:
            self.ensure(g, min(g + LOOKAHEAD_SENTENCES, self.doc_starts[doc + 1]))
        return self.lengths[g]

    def _save(self) -> None:
        path = self.cache_path
        if path is None or path.exists():
            return
        lengths = np.asarray(self.lengths, dtype=np.int32)
        ids = np.concatenate(self.ids) if self.ids else np.zeros(0, np.int32)
        offsets = np.concatenate(self.offsets) if self.offsets else np.zeros((0, 2), np.int32)

        def write(tmp: str) -> None:
            with open(tmp, "wb") as handle:
                np.savez(handle, lengths=lengths, ids=ids, offsets=offsets)

        write_atomically(path, write)

    def _load(self) -> None:
        if self.cache_path is None:
            return
        try:
            with np.load(self.cache_path) as data:
                lengths, ids, offsets = data["lengths"], data["ids"], data["offsets"]
        except (OSError, ValueError, KeyError):
            return
        if len(lengths) != len(self.sentences) or int(lengths.sum()) != len(ids) or len(ids) != len(offsets):
            return
        bounds = np.concatenate([[0], np.cumsum(lengths)]).tolist()
        self.ids = [ids[s:e] for s, e in itertools.pairwise(bounds)]
        self.offsets = [offsets[s:e] for s, e in itertools.pairwise(bounds)]
        self.lengths = lengths.tolist()
        self.missing = 0


_TABLES: OrderedDict[tuple[str, str], TokenTable] = OrderedDict()
_MAX_TABLES = 4  # a few corpora (default, split halves, an upload) per process


def token_table(corpus: Corpus, tokenizer) -> TokenTable:
    with _LOCK:  # two sessions opening one corpus get one table
        key = (corpus.fingerprint, tokenizer_key(tokenizer))
        table = _TABLES.get(key)
        if table is None:
            table = TokenTable(corpus, tokenizer)
            _TABLES[key] = table
            while len(_TABLES) > _MAX_TABLES:
                _TABLES.popitem(last=False)
        _TABLES.move_to_end(key)
        return table


# --- segments: runs of whole sentences of one document -------------------------------------------


class _Segment:
    """Sentences [start, stop) of one document, and how many tokens truncation cut at each end."""

    __slots__ = ("cut_back", "cut_front", "doc", "n_tokens", "start", "stop")

    def __init__(self, doc: int, start: int, stop: int, n_tokens: int):
        self.doc, self.start, self.stop, self.n_tokens = doc, start, stop, n_tokens
        self.cut_front = self.cut_back = 0

    @property
    def kept(self) -> int:
        return self.n_tokens - self.cut_front - self.cut_back


def truncate_seq_pair(a: _Segment, b: _Segment, max_tokens: int, rng: random.Random) -> None:
    """BERT's truncate_seq_pair: trim the longer side (B on a tie) from the front or back at random."""
    while a.kept + b.kept > max_tokens:
        longer = a if a.kept > b.kept else b
        if rng.random() < 0.5:
            longer.cut_front += 1
        else:
            longer.cut_back += 1


def _segment_ids(table: TokenTable, seg: _Segment) -> tuple[int, ...]:
    base = table.doc_starts[seg.doc]
    ids: np.ndarray = np.concatenate(table.ids[base + seg.start : base + seg.stop])
    return tuple(ids[seg.cut_front : len(ids) - seg.cut_back].tolist())


def _segment_text(table: TokenTable, seg: _Segment) -> str:
    """The original text of the kept tokens: whole sentences, cut at token offsets at the ends."""
    base = table.doc_starts[seg.doc]
    first_token, last_token = seg.cut_front, seg.n_tokens - seg.cut_back - 1
    parts, seen = [], 0
    for g in range(base + seg.start, base + seg.stop):
        n = table.lengths[g]
        lo, hi = max(first_token - seen, 0), min(last_token - seen, n - 1)
        if lo <= hi:  # this sentence keeps tokens lo..hi
            sentence, offsets = table.sentences[g], table.offsets[g]
            begin = 0 if lo == 0 else int(offsets[lo][0])
            end = len(sentence) if hi == n - 1 else int(offsets[hi][1])
            parts.append(sentence[begin:end].strip())
        seen += n
    return " ".join(parts)


# --- the sampler ---------------------------------------------------------------------------------


def _other_documents(corpus: Corpus, same_source: bool) -> list[tuple[list[int], int]] | None:
    """Per document, (the documents of its source, its place among them); None: draw from all.

    A source with a single document draws from all documents, as there is no other of its own.
    """
    if not same_source or len(set(corpus.sources)) < 2:
        return None
    groups: dict[str, list[int]] = {}
    places = []
    for doc in range(len(corpus.documents)):
        group = groups.setdefault(corpus.source(doc), [])
        places.append((group, len(group)))
        group.append(doc)
    everything = list(range(len(corpus.documents)))
    return [(group, place) if len(group) >= 2 else (everything, doc) for doc, (group, place) in enumerate(places)]


def _tfidf_rows(corpus: Corpus) -> scipy.sparse.csr_matrix:
    """One L2-normalised row per document: sublinear term frequency times smoothed inverse document frequency."""
    vocabulary: dict[str, int] = {}
    indptr: list[int] = [0]
    indices: list[int] = []
    counts: list[int] = []
    for doc in corpus.documents:
        words: dict[int, int] = {}
        for sentence in doc:
            for word in _WORD.findall(sentence.lower()):
                column = vocabulary.setdefault(word, len(vocabulary))
                words[column] = words.get(column, 0) + 1
        indices.extend(words)
        counts.extend(words.values())
        indptr.append(len(indices))
    n_docs = len(corpus.documents)
    matrix = scipy.sparse.csr_matrix(
        (np.asarray(counts, dtype=np.float32), np.asarray(indices, dtype=np.int64), np.asarray(indptr)),
        shape=(n_docs, max(len(vocabulary), 1)),
    )
    doc_freq = np.bincount(matrix.indices, minlength=matrix.shape[1])
    idf = np.log((1 + n_docs) / (1 + doc_freq)) + 1.0
    matrix.data = (1.0 + np.log(matrix.data)) * idf[matrix.indices].astype(np.float32)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return scipy.sparse.csr_matrix(scipy.sparse.diags(1.0 / norms) @ matrix)


def similar_documents(corpus: Corpus, candidates: list[list[int]], k: int = SIMILAR_NEIGHBOURS) -> list[list[int]]:
    """Per document, the (at most) k documents among its candidates most like it, most similar first.

    candidates[doc] lists the documents a NotNext B of doc may come from (doc itself is skipped).
    Documents sharing one candidate list are compared in blocks, so memory stays at a block of rows.
    """
    rows = _tfidf_rows(corpus)
    result: list[list[int]] = [[] for _ in corpus.documents]
    groups: dict[int, tuple[list[int], list[int]]] = {}  # id of a candidate list -> (that list, its docs)
    for doc, cands in enumerate(candidates):
        groups.setdefault(id(cands), (cands, []))[1].append(doc)
    for cands, docs in groups.values():
        pool = np.asarray(cands)
        pool_rows = rows[pool].T.tocsc()
        for start in range(0, len(docs), 512):
            block = docs[start : start + 512]
            scores = (rows[block] @ pool_rows).toarray()
            for i, doc in enumerate(block):
                row = scores[i]
                row[pool == doc] = -np.inf  # never A's own document: it sorts last and is never taken
                n = min(k, int(np.isfinite(row).sum()))
                top: Any = np.argpartition(-row, n - 1)[:n] if n else []
                result[doc] = pool[top][np.argsort(-row[top], kind="stable")].tolist()
    return result


_SIMILAR: OrderedDict[tuple, list[list[int]]] = OrderedDict()  # a few corpora's neighbours per process


def _similar_for(corpus: Corpus, other_docs: list[tuple[list[int], int]] | None) -> list[list[int]]:
    """similar_documents for a sampler's NotNext candidates, computed once per corpus and candidate rule."""
    key = (corpus.fingerprint, tuple(corpus.sources) if other_docs else None, SIMILAR_NEIGHBOURS)
    with _LOCK:
        if key not in _SIMILAR:
            n_docs = len(corpus.documents)
            candidates = [group for group, _ in other_docs] if other_docs else [list(range(n_docs))] * n_docs
            _SIMILAR[key] = similar_documents(corpus, candidates, SIMILAR_NEIGHBOURS)
            while len(_SIMILAR) > _MAX_TABLES:
                _SIMILAR.popitem(last=False)
        _SIMILAR.move_to_end(key)
        return _SIMILAR[key]


class PairSampler:
    """Seeded, deterministic NSP (or SOP) pairs from a corpus, tokenised with the model's tokenizer."""

    def __init__(
        self,
        corpus: Corpus,
        tokenizer,
        mode: str = "bert",
        max_length: int = DEFAULT_MAX_LENGTH,
        not_next_share: float = 0.5,
        hard_negatives: bool | float = False,
        short_seq_prob: float = SHORT_SEQ_PROB,
        seed: int = 0,
        same_source_negatives: bool = False,
        similar_negatives: float = 0.0,
    ):
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
        if not 0.0 <= not_next_share <= 1.0:
            raise ValueError("not_next_share must lie in [0, 1]")
        if not 0.0 <= short_seq_prob <= 1.0:
            raise ValueError("short_seq_prob must lie in [0, 1]")
        if int(max_length) < MIN_MAX_LENGTH:
            raise ValueError(f"max_length must be at least {MIN_MAX_LENGTH}")
        n_docs = len(corpus.documents)
        if n_docs < 2:
            raise SamplingError(
                f"{corpus.name} has {n_docs} document(s). NotNext pairs take B from a different document, "
                "so sampling needs at least two."
            )
        if not any(len(doc) >= 2 for doc in corpus.documents):
            raise SamplingError(f"No document of {corpus.name} has two sentences, so no IsNext pair exists.")
        if not 0.0 <= float(hard_negatives) <= 1.0:
            raise ValueError("hard_negatives must be a bool or a share in [0, 1]")
        if not 0.0 <= float(similar_negatives) <= 1.0:
            raise ValueError("similar_negatives must be a share in [0, 1]")
        if hard_negatives and mode != "sop" and not any(len(doc) >= 3 for doc in corpus.documents):
            raise SamplingError("Hard negatives need a document with at least three sentences.")
        self.corpus = corpus
        self.tokenizer = tokenizer
        self.mode = mode
        self.max_length = int(max_length)
        self.max_tokens = self.max_length - SPECIAL_TOKENS_IN_PAIR
        self.not_next_share = float(not_next_share)
        self.hard_negatives = float(hard_negatives) if mode != "sop" else 0.0  # share of NotNext B from A's doc
        self.short_seq_prob = float(short_seq_prob)
        self.same_source_negatives = bool(same_source_negatives)
        self._other_docs = _other_documents(corpus, self.same_source_negatives)
        self.similar_negatives = float(similar_negatives) if mode != "sop" else 0.0
        self._similar: list[list[int]] | None = None
        if self.similar_negatives > 0.0:
            self._similar = _similar_for(corpus, self._other_docs)
        self.seed = seed
        self.rng = random.Random(seed)
        self.table = token_table(corpus, tokenizer)
        self._pools: tuple[list[Pair], list[Pair]] = ([], [])
        self._stream: Any = self._chunk_stream() if mode != "sentences" else None
        self._starts: Any = None  # sentences mode: global indices of sentences that have a successor

    # public API

    def sample(self) -> Pair:
        label = NOT_NEXT if self.rng.random() < self.not_next_share else IS_NEXT
        if self.mode == "sentences":
            return self._sentence_pair(label)
        return self._draw_from_pool(label)

    def sample_many(self, n: int) -> list[Pair]:
        return [self.sample() for _ in range(int(n))]

    # BERT and SOP: a stream of candidate pairs, thinned by label and shuffled through a pool

    def _draw_from_pool(self, label: int) -> Pair:
        pool = self._pools[label]
        # A one-sentence chunk gives no SOP pair and BERT's recipe may never give an IsNext one, so a
        # walk can go on forever without the label asked for: give up after BARREN_PASSES full passes
        # (plus the documents already being walked) without one.
        give_up = BARREN_PASSES * len(self.corpus.documents) + ACTIVE_DOCUMENTS
        barren = 0  # document walks ended since the last pair of this label
        while len(pool) < POOL_SIZE:
            pair = next(self._stream)
            if pair is None:
                barren += 1
                if barren > give_up:
                    if not pool:
                        raise SamplingError(self._cannot_make(label))
                    break  # a rare label: draw from the pairs there are
                continue
            if pair.label == label:
                barren = 0
            other = self._pools[pair.label]
            if len(other) < POOL_CAP:
                other.append(pair)
            else:  # keep the pool bounded when one label is rarely asked for
                other[self.rng.randrange(len(other))] = pair
        index = self.rng.randrange(len(pool))
        pool[index], pool[-1] = pool[-1], pool[index]
        return pool.pop()

    def _cannot_make(self, label: int) -> str:
        if self.mode == "sop":
            return (
                f"This corpus and max length {self.max_length} give no sentence-order pairs (no chunk holds two "
                "sentences): raise the max length or use longer documents."
            )
        if label == IS_NEXT:
            return (
                f"With max length {self.max_length} almost every sentence fills a chunk on its own, so BERT's "
                "recipe makes no IsNext pairs: raise the max length or use single sentences."
            )
        return "This corpus and recipe cannot make NotNext pairs."

    def _chunk_stream(self):
        """Walk documents in shuffled order, ACTIVE_DOCUMENTS at a time, yielding pairs as they come.

        Yields None each time a document's walk ends, so that the caller can count walks that gave nothing.
        """
        order: list[int] = []
        walkers: list[Any] = []
        while True:
            while len(walkers) < ACTIVE_DOCUMENTS:
                if not order:
                    order = list(range(len(self.corpus.documents)))
                    self.rng.shuffle(order)
                walkers.append(self._walk_document(order.pop()))
            index = self.rng.randrange(len(walkers))
            pair = next(walkers[index], None)
            if pair is None:
                walkers[index] = walkers[-1]
                walkers.pop()
            yield pair

    def _draw_target(self) -> tuple[int, bool]:
        if self.rng.random() < self.short_seq_prob:
            return self.rng.randint(2, self.max_tokens), True
        return self.max_tokens, False

    def _walk_document(self, doc: int):
        """BERT's create_instances_from_document for one document (one pass), as a generator of pairs."""
        lengths = self.table.doc_lengths(doc)
        target, short = self._draw_target()
        chunk_start, chunk_tokens, i = 0, 0, 0
        b: _Segment | None
        while i < len(lengths):
            chunk_tokens += lengths[i]
            if i == len(lengths) - 1 or chunk_tokens >= target:
                n_chunk = i + 1 - chunk_start
                a_end = chunk_start + (self.rng.randint(1, n_chunk - 1) if n_chunk >= 2 else 1)
                a = _Segment(doc, chunk_start, a_end, sum(lengths[chunk_start:a_end]))
                pair = None
                if self.mode == "sop":
                    if n_chunk >= 2:  # a one-sentence chunk has no order to predict
                        b = _Segment(doc, a_end, i + 1, chunk_tokens - a.n_tokens)
                        pair = self._sop_pair(a, b, short)
                elif n_chunk == 1 or self.rng.random() < self.not_next_share:
                    b = self._random_b(a, target - a.n_tokens, lengths)
                    if b is not None:
                        pair = self._finish(a, b, NOT_NEXT, short)
                        i = a_end - 1  # put the unused sentences back
                    elif n_chunk >= 2:  # no room for a hard negative here: keep the true continuation
                        b = _Segment(doc, a_end, i + 1, chunk_tokens - a.n_tokens)
                        pair = self._finish(a, b, IS_NEXT, short)
                else:
                    b = _Segment(doc, a_end, i + 1, chunk_tokens - a.n_tokens)
                    pair = self._finish(a, b, IS_NEXT, short)
                if pair is not None:
                    yield pair
                chunk_start, chunk_tokens = i + 1, 0
                target, short = self._draw_target()
            i += 1

    def _draw_hard(self) -> bool:
        """Whether this NotNext B comes from A's own document (no random draw when all or none do)."""
        share = self.hard_negatives
        return share >= 1.0 or (share > 0.0 and self.rng.random() < share)

    def _random_b(self, a: _Segment, target_b: int, a_lengths: list[int]) -> _Segment | None:
        """B for a NotNext pair: from another document, or (hard negatives) from A's, not adjacent."""
        if self._draw_hard():
            b = self._hard_b(a, target_b, a_lengths)
            if b is not None or self.hard_negatives >= 1.0:
                return b  # in a mix, a chunk with no room for a hard B takes one from another document
        doc = self._negative_document(a.doc)
        n_sentences = len(self.corpus.documents[doc])
        start = self.rng.randint(0, n_sentences - 1)
        return self._fill(doc, start, n_sentences, target_b)

    def _negative_document(self, doc: int) -> int:
        """The document of a NotNext B: one of the most similar to A's (a share of similar_negatives), or any."""
        share = self.similar_negatives
        if share >= 1.0 or (share > 0.0 and self.rng.random() < share):
            near = self._similar[doc]  # type: ignore[index]  # set whenever similar_negatives > 0; never empty: every document has another candidate
            return near[self.rng.randrange(len(near))]
        return self._other_document(doc)

    def _other_document(self, doc: int) -> int:
        """A document for a NotNext B: uniform over A's candidates, never A's own."""
        if self._other_docs is None:
            k = self.rng.randrange(len(self.corpus.documents) - 1)
            return k + (k >= doc)
        group, place = self._other_docs[doc]
        k = self.rng.randrange(len(group) - 1)
        return group[k + (k >= place)]

    def _hard_b(self, a: _Segment, target_b: int, lengths: list[int]) -> _Segment | None:
        # Leave at least one sentence between A and B on either side, so B never continues A
        # and A never continues B.
        before = list(range(0, a.start - 1))  # B starts here and must end before a.start - 1
        after = list(range(a.stop + 1, len(lengths)))
        if not before and not after:
            return None
        pick = self.rng.randrange(len(before) + len(after))
        if pick < len(before):
            return self._fill(a.doc, before[pick], a.start - 1, target_b)
        return self._fill(a.doc, after[pick - len(before)], len(lengths), target_b)

    def _fill(self, doc: int, start: int, limit: int, target_b: int) -> _Segment:
        """Sentences from start until the target length (at least one sentence), as BERT fills B."""
        stop, n_tokens = start, 0
        while stop < limit:
            n_tokens += self.table.length(doc, stop)
            stop += 1
            if n_tokens >= target_b:
                break
        return _Segment(doc, start, stop, n_tokens)

    def _sop_pair(self, a: _Segment, b: _Segment, short: bool) -> Pair:
        if self.rng.random() < self.not_next_share:
            return self._finish(b, a, NOT_NEXT, short)
        return self._finish(a, b, IS_NEXT, short)

    def _finish(self, a: _Segment, b: _Segment, label: int, short: bool) -> Pair:
        truncate_seq_pair(a, b, self.max_tokens, self.rng)
        table = self.table
        return Pair(
            a=_segment_text(table, a),
            b=_segment_text(table, b),
            label=label,
            doc_a=a.doc,
            doc_b=b.doc,
            mode=self.mode,
            a_ids=_segment_ids(table, a),
            b_ids=_segment_ids(table, b),
            short=short,
            a_span=(a.start, a.stop),
            b_span=(b.start, b.stop),
            a_cut=a.cut_front + a.cut_back,
            b_cut=b.cut_front + b.cut_back,
        )

    # single sentences

    def _sentence_starts(self) -> np.ndarray:
        """Global indices of sentences that have a next sentence (and, for hard negatives, room for B)."""
        if self._starts is None:
            starts = [
                self.table.doc_starts[d] + i
                for d, doc in enumerate(self.corpus.documents)
                for i in range(len(doc) - 1)
                if not self.hard_negatives or i >= 2 or i + 2 < len(doc)  # room for a far B
            ]
            self._starts = np.asarray(starts, dtype=np.int64)
        return self._starts

    def _locate(self, g: int) -> tuple[int, int]:
        import bisect

        doc = bisect.bisect_right(self.table.doc_starts, g) - 1
        return doc, g - self.table.doc_starts[doc]

    def _sentence_pair(self, label: int) -> Pair:
        # A is drawn from the same sentences for both labels, so A alone never gives the label away.
        starts = self._sentence_starts()
        doc, i = self._locate(int(starts[self.rng.randrange(len(starts))]))
        a = _Segment(doc, i, i + 1, self.table.length(doc, i))
        n_sentences = len(self.corpus.documents[doc])
        if label == IS_NEXT:
            b_doc, j = doc, i + 1
        elif self._draw_hard():
            far = [j for j in range(n_sentences) if abs(j - i) >= 2]
            b_doc, j = doc, far[self.rng.randrange(len(far))]
        else:
            b_doc = self._negative_document(doc)
            j = self.rng.randrange(len(self.corpus.documents[b_doc]))
        b = _Segment(b_doc, j, j + 1, self.table.length(b_doc, j))
        return self._finish(a, b, label, False)
