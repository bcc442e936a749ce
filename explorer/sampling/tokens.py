"""Every sentence of a corpus tokenised once per (corpus, tokenizer): ids and character offsets.

Lazily, a document at a time while the walk enters it, and kept in process (and on disk for the named
corpora, once complete).
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from explorer.corpus import CORPORA, Corpus, cache_dir, write_atomically

LOOKAHEAD_SENTENCES = 8  # sentences tokenised at once when B starts in a document not walked yet
MAX_CACHED_CORPORA = 4  # a few corpora (default, split halves, an upload) per process

# Every browser session of the app shares the caches of this package (and the tokenizers in them, which
# must not be called from two threads at once). One lock guards them; re-entrant because token_table
# builds a TokenTable, which asks for the tokenizer key again.
LOCK = threading.RLock()
# Weak keys: a cached key must not keep the tokenizer of a model that was unloaded alive.
_TOKENIZER_KEYS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def tokenizer_key(tokenizer) -> str:
    """A content key for a tokenizer's vocabulary and normalisation (the same vocab gives the same ids)."""
    with LOCK:
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
        with LOCK:  # another session may fill the same sentences; `missing` must count each once
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


def token_table(corpus: Corpus, tokenizer) -> TokenTable:
    with LOCK:  # two sessions opening one corpus get one table
        key = (corpus.fingerprint, tokenizer_key(tokenizer))
        table = _TABLES.get(key)
        if table is None:
            table = TokenTable(corpus, tokenizer)
            _TABLES[key] = table
            while len(_TABLES) > MAX_CACHED_CORPORA:
                _TABLES.popitem(last=False)
        _TABLES.move_to_end(key)
        return table
