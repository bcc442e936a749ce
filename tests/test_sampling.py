"""PairSampler: BERT's recipe, label shares, invariants, determinism, SOP and hard negatives."""

import math
import threading

import pytest
from transformers import BertTokenizerFast

from explorer.corpus import Corpus, load_default_corpus
from explorer.labels import IS_NEXT, NOT_NEXT
from explorer.models import bundled_encoder_dir
from explorer.sampling import PairSampler, SamplingError, token_table

N = 10_000


@pytest.fixture(scope="module")
def tokenizer():
    return BertTokenizerFast.from_pretrained(bundled_encoder_dir())


@pytest.fixture(scope="module")
def sotu():
    return load_default_corpus()


@pytest.fixture(scope="module")
def bert_pairs(sotu, tokenizer):
    return PairSampler(sotu, tokenizer, mode="bert", max_length=128, seed=0).sample_many(N)


def small_corpus(n_docs=6, n_sentences=12) -> Corpus:
    docs = [
        [f"Document {d} sentence {i} talks about topic {d} number {i}." for i in range(n_sentences)]
        for d in range(n_docs)
    ]
    return Corpus("synthetic", docs)


def _within_3_se(share: float, p: float, n: int) -> bool:
    return abs(share - p) <= 3 * math.sqrt(p * (1 - p) / n)


def test_is_next_share_is_half_within_3_se(bert_pairs):
    share = sum(p.label == IS_NEXT for p in bert_pairs) / N
    assert _within_3_se(share, 0.5, N), share


def test_a_non_default_not_next_share_is_respected(sotu, tokenizer):
    pairs = PairSampler(sotu, tokenizer, not_next_share=0.2, seed=5).sample_many(N)
    share = sum(p.label == NOT_NEXT for p in pairs) / N
    assert _within_3_se(share, 0.2, N), share


def test_not_next_b_comes_from_another_document_and_is_next_b_follows_a(bert_pairs):
    for p in bert_pairs:
        if p.label == NOT_NEXT:
            assert p.doc_b != p.doc_a
        else:
            assert p.doc_b == p.doc_a and p.b_span[0] == p.a_span[1]
        assert p.a_span[0] < p.a_span[1] and p.b_span[0] < p.b_span[1]


def test_lengths_fit_and_no_side_is_empty(bert_pairs):
    assert all(len(p.a_ids) >= 1 and len(p.b_ids) >= 1 for p in bert_pairs)
    assert all(len(p.a_ids) + len(p.b_ids) <= 128 - 3 for p in bert_pairs)
    assert all(p.a.strip() and p.b.strip() for p in bert_pairs)
    # truncation happens (the chunk overshoots the target), and it is reported
    assert any(p.a_cut or p.b_cut for p in bert_pairs)


def test_short_sequence_share_is_near_a_tenth(bert_pairs):
    share = sum(p.short for p in bert_pairs) / N
    assert abs(share - 0.1) < 0.02, share


def test_short_targets_make_shorter_pairs(bert_pairs):
    short = [p.n_tokens for p in bert_pairs if p.short]
    full = [p.n_tokens for p in bert_pairs if not p.short]
    assert sum(short) / len(short) < 0.8 * sum(full) / len(full)


def _contains(seq: tuple, part: tuple) -> bool:
    return any(seq[i : i + len(part)] == part for i in range(len(seq) - len(part) + 1))


def test_ids_match_the_text(bert_pairs, tokenizer):
    # The text is the original text of the kept tokens: an untruncated side re-encodes exactly; a
    # truncated one differs at most in the word the cut went through.
    exact = cut = 0
    for p in bert_pairs[:300]:
        for text, ids, n_cut in ((p.a, p.a_ids, p.a_cut), (p.b, p.b_ids, p.b_cut)):
            again = tuple(tokenizer(text, add_special_tokens=False)["input_ids"])
            if not n_cut:
                assert again == ids
                exact += 1
                continue
            pieces = tokenizer.convert_ids_to_tokens(list(ids))
            first_word = next((i for i, t in enumerate(pieces) if not t.startswith("##")), len(ids))
            core = ids[first_word : len(ids) - 1]
            assert _contains(again, core), (text, pieces)
            cut += 1
    assert exact > 100 and cut > 50


def test_same_seed_same_pairs_different_seed_different(sotu, tokenizer):
    first = PairSampler(sotu, tokenizer, seed=7).sample_many(50)
    again = PairSampler(sotu, tokenizer, seed=7).sample_many(50)
    other = PairSampler(sotu, tokenizer, seed=8).sample_many(50)
    assert first == again
    assert first != other


def test_consecutive_samples_mix_documents(bert_pairs):
    assert len({p.doc_a for p in bert_pairs[:20]}) >= 5


def test_sentences_mode_pairs_single_sentences(sotu, tokenizer):
    pairs = PairSampler(sotu, tokenizer, mode="sentences", seed=1).sample_many(2000)
    share = sum(p.label for p in pairs) / 2000
    assert _within_3_se(share, 0.5, 2000)
    for p in pairs:
        assert p.a_span[1] - p.a_span[0] == 1 and p.b_span[1] - p.b_span[0] == 1
        assert p.a == sotu.documents[p.doc_a][p.a_span[0]] or p.a_cut
        if p.label == IS_NEXT:
            assert p.doc_b == p.doc_a and p.b_span[0] == p.a_span[0] + 1
        else:
            assert p.doc_b != p.doc_a


def test_sop_labels_and_swap(sotu, tokenizer):
    pairs = PairSampler(sotu, tokenizer, mode="sop", seed=2).sample_many(3000)
    assert _within_3_se(sum(p.label for p in pairs) / 3000, 0.5, 3000)
    for p in pairs:
        assert p.doc_a == p.doc_b  # both segments come from one chunk
        if p.label == 0:
            assert p.a_span[1] == p.b_span[0]  # in order
        else:
            assert p.b_span[1] == p.a_span[0]  # the same two segments, swapped


def test_a_swapped_sop_pair_is_the_in_order_pair_with_its_two_segments_exchanged(sotu, tokenizer):
    from explorer.training import pairs_to_batch

    pairs = [p for p in PairSampler(sotu, tokenizer, mode="sop", seed=5).sample_many(400) if not p.a_cut + p.b_cut]
    assert {p.label for p in pairs} == {IS_NEXT, NOT_NEXT}
    batch = pairs_to_batch(pairs, tokenizer)
    for row, p in enumerate(pairs):
        first, second = (p.a_span, p.b_span) if p.label == IS_NEXT else (p.b_span, p.a_span)
        run = sotu.documents[p.doc_a][first[0] : second[1]]  # the chunk's sentences, in the document's order
        text_ids = [i for sentence in run for i in tokenizer(sentence, add_special_tokens=False)["input_ids"]]
        in_order = (p.a_ids + p.b_ids) if p.label == IS_NEXT else (p.b_ids + p.a_ids)
        assert list(in_order) == text_ids
        n_a, n_b = len(p.a_ids), len(p.b_ids)
        ids = batch["input_ids"][row, : n_a + n_b + 3].tolist()
        assert ids == [tokenizer.cls_token_id, *p.a_ids, tokenizer.sep_token_id, *p.b_ids, tokenizer.sep_token_id]
        assert batch["token_type_ids"][row, : n_a + n_b + 3].tolist() == [0] * (n_a + 2) + [1] * (n_b + 1)


@pytest.mark.parametrize("mode", ["bert", "sentences"])
def test_hard_negatives_come_from_the_same_document_but_not_adjacent(sotu, tokenizer, mode):
    pairs = PairSampler(sotu, tokenizer, mode=mode, hard_negatives=True, seed=3).sample_many(2000)
    negatives = [p for p in pairs if p.label == NOT_NEXT]
    assert len(negatives) > 800
    for p in negatives:
        assert p.doc_b == p.doc_a
        gap_after = p.b_span[0] - p.a_span[1]  # sentences between A's end and B's start
        gap_before = p.a_span[0] - p.b_span[1]
        assert gap_after >= 1 or gap_before >= 1, (p.a_span, p.b_span)


def test_synthetic_corpus_never_draws_b_from_as_document(tokenizer):
    pairs = PairSampler(small_corpus(2, 5), tokenizer, max_length=32, seed=4).sample_many(500)
    assert {p.label for p in pairs} == {0, 1}
    assert all(p.doc_a != p.doc_b for p in pairs if p.label == NOT_NEXT)


def test_one_document_corpus_is_a_clear_error(tokenizer):
    with pytest.raises(SamplingError, match="at least two"):
        PairSampler(Corpus("one", [["A first sentence here.", "A second sentence here."]]), tokenizer)


def test_tiny_max_length_cannot_make_is_next_and_says_so(tokenizer):
    sampler = PairSampler(small_corpus(), tokenizer, max_length=5, not_next_share=0.0, seed=0)
    with pytest.raises(SamplingError, match="max length"):
        sampler.sample()


@pytest.mark.timeout(20)
def test_sop_without_two_sentence_chunks_is_a_clear_error_not_a_hang(tokenizer):
    # Every sentence fills a chunk of max length 8 on its own, and a one-sentence chunk has no order.
    sampler = PairSampler(small_corpus(4, 3), tokenizer, mode="sop", max_length=8, seed=0)
    for _ in range(2):  # and again on the next click, not a dead generator
        with pytest.raises(SamplingError, match="no sentence-order pairs"):
            sampler.sample()


def test_concurrent_sessions_build_one_complete_table(tokenizer):
    corpus = small_corpus(40, 25)  # a corpus no other test tokenised
    tables, errors = [], []
    start = threading.Barrier(8)

    def session(i):
        try:
            start.wait()
            table = token_table(corpus, tokenizer)
            if i % 2:
                table.ensure_all()
            else:  # others walk it the way sampling does, a document at a time
                PairSampler(corpus, tokenizer, max_length=32, seed=i).sample_many(50)
                table.ensure_all()
            tables.append(table)
        except Exception as err:
            errors.append(err)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len({id(t) for t in tables}) == 1
    table = tables[0]
    assert table.missing == 0
    expected = tokenizer(table.sentences, add_special_tokens=False)["input_ids"]
    assert [t.tolist() for t in table.ids] == expected
    assert table.lengths == [len(ids) for ids in expected]


def test_bad_arguments(tokenizer):
    with pytest.raises(ValueError):
        PairSampler(small_corpus(), tokenizer, mode="nope")
    with pytest.raises(ValueError):
        PairSampler(small_corpus(), tokenizer, not_next_share=1.5)


def test_a_share_of_hard_negatives_mixes_same_and_other_documents():
    from transformers import BertTokenizerFast

    from explorer.corpus import load_default_corpus
    from explorer.models import bundled_encoder_dir

    tokenizer = BertTokenizerFast.from_pretrained(bundled_encoder_dir())
    pairs = PairSampler(load_default_corpus(), tokenizer, mode="bert", hard_negatives=0.5, seed=3).sample_many(2000)
    not_next = [p for p in pairs if p.label == NOT_NEXT]
    same_doc = sum(p.doc_a == p.doc_b for p in not_next) / len(not_next)
    assert 0.4 < same_doc < 0.6
    for p in not_next:
        if p.doc_a == p.doc_b:  # never adjacent: at least one sentence between A and B
            assert p.b_span[0] >= p.a_span[1] + 1 or p.b_span[1] <= p.a_span[0] - 1


def _mixture() -> Corpus:
    """Two sources: 'big' with 8 documents, 'small' with 2 (a uniform draw mostly crosses into 'big')."""
    from explorer.corpus import combine

    big, small = small_corpus(8, 6), small_corpus(2, 6)
    return combine([Corpus("big", big.documents), Corpus("small", small.documents)])


@pytest.mark.parametrize("mode", ["bert", "sentences"])
def test_same_source_negatives_stay_inside_a_sources(tokenizer, mode):
    corpus = _mixture()
    assert corpus.sources == ["big"] * 8 + ["small"] * 2
    pairs = PairSampler(corpus, tokenizer, mode=mode, max_length=32, seed=5, same_source_negatives=True).sample_many(
        1500
    )
    not_next = [p for p in pairs if p.label == NOT_NEXT]
    assert all(p.doc_a != p.doc_b and corpus.source(p.doc_a) == corpus.source(p.doc_b) for p in not_next)
    # both documents of the small source still get their NotNext pairs, each with B from the other
    assert {p.doc_b for p in not_next if corpus.source(p.doc_a) == "small"} == {8, 9}
    uniform = PairSampler(corpus, tokenizer, mode=mode, max_length=32, seed=5).sample_many(1500)
    crossing = sum(corpus.source(p.doc_a) != corpus.source(p.doc_b) for p in uniform if p.label == NOT_NEXT)
    assert crossing > 0.1 * len(not_next)  # without the option, a mixture's NotNext pairs do cross sources


def test_a_source_with_one_document_draws_from_the_others(tokenizer):
    from explorer.corpus import combine

    corpus = combine([Corpus("many", small_corpus(4, 6).documents), Corpus("one", small_corpus(1, 6).documents)])
    pairs = PairSampler(corpus, tokenizer, max_length=32, seed=2, same_source_negatives=True).sample_many(800)
    lone = [p for p in pairs if p.label == NOT_NEXT and p.doc_a == 4]
    assert lone and all(p.doc_b != 4 for p in lone)


def test_same_source_negatives_without_a_mixture_change_nothing(sotu, tokenizer):
    plain = PairSampler(sotu, tokenizer, seed=9).sample_many(300)
    same = PairSampler(sotu, tokenizer, seed=9, same_source_negatives=True).sample_many(300)
    assert [(p.a, p.b, p.label) for p in plain] == [(p.a, p.b, p.label) for p in same]


def _themes_corpus() -> Corpus:
    """Three themes, two documents each; within a theme the documents share their words."""
    themes = {
        "cats": "The cat purrs on the sofa. A kitten chases the cat's tail. Cats sleep in the sun.",
        "ships": "The ship left the harbour at dawn. Sailors raised the sails of the ship. The sea was calm.",
        "bread": "The baker kneads the dough. Bread rises in a warm oven. Flour covers the baker's table.",
    }
    docs = []
    for text in themes.values():
        sentences = text.split(". ")
        docs.append([s.rstrip(".") + "." for s in sentences] * 2)
        docs.append([s.rstrip(".") + "." for s in reversed(sentences)] * 2)
    return Corpus("themes", docs)


def test_similar_documents_are_the_ones_sharing_words():
    from explorer.sampling import similar_documents

    corpus = _themes_corpus()
    everyone = [[j for j in range(6) if j != d] for d in range(6)]
    near = similar_documents(corpus, everyone, k=3)
    for doc in range(6):
        twin = doc ^ 1  # documents 0/1, 2/3 and 4/5 share a theme
        assert near[doc][0] == twin and doc not in near[doc] and len(near[doc]) == 3
    # candidates limit the choice: without its twin, a document gets the best of the rest
    assert similar_documents(corpus, [[2, 4], *everyone[1:]], k=1)[0] in ([2], [4])


@pytest.mark.parametrize("mode", ["bert", "sentences"])
def test_similar_negatives_take_b_from_a_document_like_a(tokenizer, mode, monkeypatch):
    import explorer.sampling.similar

    monkeypatch.setattr(explorer.sampling.similar, "SIMILAR_NEIGHBOURS", 1)  # the single nearest: the theme's twin
    pairs = PairSampler(
        _themes_corpus(), tokenizer, mode=mode, max_length=32, seed=4, similar_negatives=1.0
    ).sample_many(600)
    not_next = [p for p in pairs if p.label == NOT_NEXT]
    assert len(not_next) > 200 and all(p.doc_b == p.doc_a ^ 1 for p in not_next)


def test_a_share_of_similar_negatives_draws_from_the_nearest_documents(sotu, tokenizer):
    from explorer.sampling import similar_documents

    everyone = [[j for j in range(len(sotu.documents)) if j != d] for d in range(len(sotu.documents))]
    near = similar_documents(sotu, everyone)
    pairs = PairSampler(sotu, tokenizer, seed=6, similar_negatives=0.5).sample_many(3000)
    not_next = [p for p in pairs if p.label == NOT_NEXT]
    share = sum(p.doc_b in near[p.doc_a] for p in not_next) / len(not_next)
    # half come from the 10 nearest; of the uniform half, about 10/236 land there too
    expected = 0.5 + 0.5 * 10 / (len(sotu.documents) - 1)
    assert _within_3_se(share, expected, len(not_next)), share
    # a speech's neighbours are speeches of nearby years (the corpus is in date order)
    gaps = [abs(j - d) for d in range(len(sotu.documents)) for j in near[d][:3]]
    assert sorted(gaps)[len(gaps) // 2] <= 10


def test_similar_negatives_stay_inside_a_source_with_same_source_negatives(tokenizer):
    corpus = _mixture()
    pairs = PairSampler(
        corpus, tokenizer, max_length=32, seed=5, same_source_negatives=True, similar_negatives=1.0
    ).sample_many(800)
    not_next = [p for p in pairs if p.label == NOT_NEXT]
    assert not_next and all(corpus.source(p.doc_a) == corpus.source(p.doc_b) for p in not_next)


def test_a_bad_similar_share_is_refused(tokenizer):
    with pytest.raises(ValueError, match="similar_negatives"):
        PairSampler(small_corpus(), tokenizer, similar_negatives=1.5)
