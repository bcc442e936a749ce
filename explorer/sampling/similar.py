"""Which documents a NotNext B may come from: any other, one of A's source, or one most like A's (TF-IDF)."""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any

import numpy as np
import scipy.sparse

from explorer.corpus import Corpus
from explorer.sampling.tokens import LOCK, MAX_CACHED_CORPORA

SIMILAR_NEIGHBOURS = 10  # similar_negatives: B from one of the 10 documents most like A's
_WORD = re.compile(r"[^\W\d_]+")

# Per document, (the documents of its source, its place among them); None: every document is a candidate.
OtherDocuments = list[tuple[list[int], int]] | None


def other_documents(corpus: Corpus, same_source: bool) -> OtherDocuments:
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


def similar_for(corpus: Corpus, other_docs: OtherDocuments) -> list[list[int]]:
    """similar_documents for a sampler's NotNext candidates, computed once per corpus and candidate rule."""
    key = (corpus.fingerprint, tuple(corpus.sources) if other_docs else None, SIMILAR_NEIGHBOURS)
    with LOCK:
        if key not in _SIMILAR:
            n_docs = len(corpus.documents)
            candidates = [group for group, _ in other_docs] if other_docs else [list(range(n_docs))] * n_docs
            _SIMILAR[key] = similar_documents(corpus, candidates, SIMILAR_NEIGHBOURS)
            while len(_SIMILAR) > MAX_CACHED_CORPORA:
                _SIMILAR.popitem(last=False)
        _SIMILAR.move_to_end(key)
        return _SIMILAR[key]
