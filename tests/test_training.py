"""The training loop on a tiny BERT and a small learnable synthetic task (seconds on 2 CPU cores)."""

import math
import random
import threading
from typing import Any

import pytest
import torch

from explorer.corpus import Corpus
from explorer.labels import CHANCE_LOSS
from explorer.models import load_model
from explorer.nsp import pad_batch
from explorer.training import (
    PRESETS,
    EndEvent,
    EvalEvent,
    StartEvent,
    StepEvent,
    TrainConfig,
    TrainConfigError,
    Trainer,
    chance_text,
    mask_for_mlm,
    moving_average,
    pairs_to_batch,
    save_checkpoint,
    summarize_log,
    warmup_then_linear_decay,
)
from explorer.training.events import event_from_dict, first_of
from explorer.training.plots import accuracy_figure, loss_figure

TOPICS = [
    ["apple", "banana", "cherry", "grape", "lemon", "mango", "melon", "peach", "pear", "plum"],
    ["car", "truck", "bus", "train", "plane", "boat", "ship", "bike", "tram", "taxi"],
    ["dog", "cat", "horse", "cow", "sheep", "goat", "pig", "duck", "goose", "mouse"],
]


def topic_corpus(n_docs: int = 24, sentences: int = 12, words: int = 5, seed: int = 0) -> Corpus:
    """Documents about one of three topics: a next sentence shares A's topic, a random one usually does not.

    So NSP is learnable here, up to about 1/2 + 1/2 * 2/3 = 83% (a NotNext B of the same topic cannot be told).
    """
    rng = random.Random(seed)
    docs = [
        [" ".join(rng.choice(TOPICS[d % len(TOPICS)]) for _ in range(words)) for _ in range(sentences)]
        for d in range(n_docs)
    ]
    return Corpus("synthetic topics", docs)


def tiny_config(**overrides) -> TrainConfig:
    """A 2-layer, hidden-64 BERT from scratch that learns the topic task in ~200 steps (~5 s)."""
    settings: dict[str, Any] = dict(
        steps=200,
        batch_size=32,
        lr=2e-3,
        warmup=0.1,
        max_length=16,
        mode="sentences",
        train_what="scratch",
        scratch_layers=2,
        scratch_hidden=64,
        scratch_heads=2,
        dropout=0.0,
        eval_every=50,
        eval_pairs=128,
        heldout_fraction=0.25,
        bf16="off",
        device="cpu",
        seed=0,
    )
    settings.update(overrides)
    return TrainConfig(**settings)


def run_all(config, corpus=None, stop_event=None):
    trainer = Trainer(config, corpus=corpus or topic_corpus())
    return trainer, list(trainer.run(stop_event))


def test_loss_falls_and_heldout_accuracy_rises_well_above_chance():
    _, events = run_all(tiny_config())
    steps = [e for e in events if isinstance(e, StepEvent)]
    evals = [e for e in events if isinstance(e, EvalEvent)]
    assert [e.step for e in steps] == list(range(1, 201))
    assert events[-1].status == "finished"
    first = sum(e.loss for e in steps[:20]) / 20
    last = sum(e.loss for e in steps[-20:]) / 20
    assert abs(first - CHANCE_LOSS) < 0.05  # starts at chance
    assert last < first - 0.2  # and really learns
    assert abs(evals[0].heldout_loss - CHANCE_LOSS) < 0.03 and evals[0].step == 0
    assert evals[-1].step == 200
    assert evals[-1].heldout_loss < CHANCE_LOSS - 0.15
    assert evals[-1].accuracy >= 0.72


def test_same_seed_gives_identical_losses_and_another_seed_does_not():
    config = tiny_config(steps=15, eval_every=5, eval_pairs=32, dropout=None)  # dropout on: its masks are seeded too
    losses = lambda events: [e.loss for e in events if isinstance(e, StepEvent)]  # noqa: E731
    _, first = run_all(config)
    _, second = run_all(config)
    _, other = run_all(tiny_config(steps=15, eval_every=5, eval_pairs=32, dropout=None, seed=1))
    assert losses(first) == losses(second)
    assert [e.heldout_loss for e in first if isinstance(e, EvalEvent)] == [
        e.heldout_loss for e in second if isinstance(e, EvalEvent)
    ]
    assert losses(first) != losses(other)


def test_full_finetune_of_a_saved_model_with_top_k_and_head_freezing(tiny_bert_dir):
    corpus = topic_corpus()
    for what, trained_prefixes in (
        ("head", ("cls.",)),
        ("pooler", ("cls.", "bert.pooler.")),
        ("top-1", ("cls.", "bert.pooler.", "bert.encoder.layer.1.")),
        (
            "full",
            (
                "cls.",
                "bert.pooler.",
                "bert.encoder.",
                "bert.embeddings.position",
                "bert.embeddings.token_type",
                "bert.embeddings.LayerNorm",
            ),
        ),  # with the word embeddings frozen
    ):
        config = tiny_config(
            base_model=str(tiny_bert_dir),
            train_what=what,
            steps=3,
            eval_every=10,
            eval_pairs=16,
            freeze_word_embeddings=what == "full",
        )
        trainer = Trainer(config, corpus=corpus)
        before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
        list(trainer.run())
        for name, p in trainer.model.named_parameters():
            changed = not torch.equal(before[name], p.detach())
            assert changed == name.startswith(trained_prefixes), (what, name)


def test_stop_really_stops():
    stop = threading.Event()
    trainer = Trainer(tiny_config(steps=10_000, eval_every=1000), corpus=topic_corpus())
    seen = 0
    for event in trainer.run(stop):
        if isinstance(event, StepEvent):
            seen += 1
            if event.step == 5:
                stop.set()
    assert trainer.step == 5 and seen == 5
    assert isinstance(event, EndEvent) and event.status == "stopped"
    assert trainer.log[-2].kind == "eval" and trainer.log[-2].step == 5  # a last look at held-out data


def test_error_mid_run_ends_cleanly_and_keeps_the_curve(monkeypatch):
    trainer = Trainer(tiny_config(steps=50, eval_every=100), corpus=topic_corpus())
    original, calls = trainer._next_batch, []

    def failing():
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("CPU out of memory: tried to allocate 1 TiB")
        return original()

    monkeypatch.setattr(trainer, "_next_batch", failing)
    events = list(trainer.run())
    assert events[-1].status == "error" and "Out of memory at step 4" in events[-1].message
    assert [e.step for e in events if isinstance(e, StepEvent)] == [1, 2, 3]


def test_heldout_split_shares_no_document_with_training():
    corpus = topic_corpus(n_docs=30)
    trainer = Trainer(tiny_config(steps=1, heldout_fraction=0.2), corpus=corpus)
    train_docs = {tuple(d) for d in trainer.train_corpus.documents}
    heldout_docs = {tuple(d) for d in trainer.heldout_corpus.documents}
    assert train_docs.isdisjoint(heldout_docs)
    assert len(train_docs) + len(heldout_docs) == 30 and len(heldout_docs) == 6
    # Training pairs use training sentences only; the fixed held-out pairs use held-out sentences only.
    train_sentences = {s for d in trainer.train_corpus.documents for s in d}
    heldout_sentences = {s for d in trainer.heldout_corpus.documents for s in d}
    assert train_sentences.isdisjoint(heldout_sentences)
    for pair in trainer.sampler.sample_many(100):
        assert pair.a in train_sentences and pair.b in train_sentences
    assert len(trainer.heldout_pairs) == 128
    for pair in trainer.heldout_pairs:
        assert pair.a in heldout_sentences and pair.b in heldout_sentences


def test_checkpoint_round_trips_to_identical_logits(tmp_path):
    trainer, _ = run_all(tiny_config(steps=10, eval_every=5, eval_pairs=16))
    out = save_checkpoint(trainer.model, trainer.tokenizer, tmp_path / "ckpt", trainer.config, trainer.log)
    for name in ("model.safetensors", "config.json", "tokenizer.json", "training_log.csv", "training_info.json"):
        assert (out / name).is_file(), name
    loaded = load_model(str(out), "cpu")
    assert loaded.head_trained
    batch = pairs_to_batch(trainer.sampler.sample_many(8), trainer.tokenizer)
    inputs = {k: batch[k] for k in ("input_ids", "token_type_ids", "attention_mask")}
    trainer.model.eval()
    with torch.no_grad():
        pooled = trainer.model.bert(**inputs).pooler_output
        expected = trainer.model.cls.seq_relationship(pooled)
        got = loaded.model(**inputs).logits
    assert torch.equal(expected, got)
    summary = summarize_log(trainer.log)
    assert summary["steps_done"] == 10 and summary["status"] == "finished"
    lines = (out / "training_log.csv").read_text().splitlines()
    assert lines[0].startswith("kind,step,loss") and len(lines) == 1 + 10 + 3  # header, steps, evals at 0/5/10


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"steps": 0}, "Steps"),
        ({"lr": -1e-4}, "positive"),
        ({"lr": 5.0}, "absurdly large"),
        ({"head_lr": float("nan")}, "positive"),
        ({"batch_size": 0}, "Batch size"),
        ({"max_length": 600}, "512"),
        ({"train_what": "everything"}, "What to train"),
        ({"train_what": "top-x"}, "What to train"),
        ({"mode": "paragraphs"}, "Pair mode"),
        ({"not_next_share": 1.0}, "NotNext share"),
        ({"train_what": "full", "mlm_too": True}, "MLM"),
        ({"scratch_hidden": 100, "scratch_heads": 3}, "divisible"),
    ],
)
def test_bad_settings_give_clear_messages(overrides, words):
    with pytest.raises(TrainConfigError, match=words):
        tiny_config(**overrides).validate()


def test_corpus_too_small_for_a_heldout_split_is_refused():
    with pytest.raises(TrainConfigError, match="at least 4"):
        Trainer(tiny_config(), corpus=topic_corpus(n_docs=3))


def test_top_k_beyond_the_model_is_refused(tiny_bert_dir):
    with pytest.raises(TrainConfigError, match="more layers"):
        Trainer(tiny_config(base_model=str(tiny_bert_dir), train_what="top-5"), corpus=topic_corpus())


def test_scratch_mlm_plus_nsp_reports_separate_curves():
    trainer, events = run_all(tiny_config(steps=6, mlm_too=True, eval_every=3, eval_pairs=16, max_length=24))
    steps = [e for e in events if isinstance(e, StepEvent)]
    for e in steps:
        assert e.mlm_loss > 5 and 0 < e.nsp_loss < 2  # MLM over a 30k vocabulary starts near ln 30522 = 10.3
        assert math.isclose(e.loss, e.mlm_loss + e.nsp_loss, rel_tol=1e-5)
    fig = loss_figure(trainer.log, 6)
    names = [trace.name for trace in fig.data]
    assert "MLM (avg)" in names and "NSP (avg)" in names and "held-out NSP loss" in names


def test_mlm_masking_skips_special_tokens_and_padding():
    from transformers import BertTokenizerFast

    from explorer.models import bundled_encoder_dir

    tokenizer = BertTokenizerFast.from_pretrained(bundled_encoder_dir())
    ids = [[101, *range(2000, 2040), 102], [101, 2000, 102]]
    batch = pad_batch(ids, [[0] * len(x) for x in ids])
    _, labels = mask_for_mlm(batch, tokenizer, torch.Generator().manual_seed(0))
    chosen = labels != -100
    assert not chosen[:, 0].any() and not chosen[0, -1] and not chosen[1, 2:].any()
    assert 0 < chosen.sum() < 20
    assert torch.equal(labels[chosen], batch["input_ids"][chosen])


def test_pairs_to_batch_lays_out_cls_a_sep_b_sep_with_segments():
    from types import SimpleNamespace

    tokenizer = SimpleNamespace(cls_token_id=101, sep_token_id=102, pad_token_id=0)
    pairs = [SimpleNamespace(a_ids=(7, 8), b_ids=(9,), label=1), SimpleNamespace(a_ids=(5,), b_ids=(6,), label=0)]
    batch = pairs_to_batch(pairs, tokenizer)
    assert batch["input_ids"].tolist() == [[101, 7, 8, 102, 9, 102], [101, 5, 102, 6, 102, 0]]
    assert batch["token_type_ids"].tolist() == [[0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 1, 0]]
    assert batch["attention_mask"].tolist() == [[1] * 6, [1] * 5 + [0]]
    assert batch["labels"].tolist() == [1, 0]


def test_schedule_warms_up_then_decays_to_zero():
    factor = warmup_then_linear_decay(100, 0.1)
    assert factor(0) == pytest.approx(0.1) and factor(9) == pytest.approx(1.0)
    assert factor(10) == pytest.approx(1.0) and factor(55) == pytest.approx(0.5) and factor(100) == 0.0


def test_moving_average_and_figures():
    assert moving_average([1.0, 3.0, 5.0, 7.0], window=2) == [1.0, 2.0, 4.0, 6.0]
    log = [
        StartEvent(2, "cpu", False, 10, 10, 4, 2, 16, chance_loss=CHANCE_LOSS),
        EvalEvent(step=0, heldout_loss=0.69, accuracy=0.5, elapsed=0.0),
        StepEvent(step=1, loss=0.7, lr=1e-4, elapsed=1.0, steps_per_s=1.0),
        StepEvent(step=2, loss=0.6, lr=1e-4, elapsed=2.0, steps_per_s=1.0),
        EvalEvent(step=2, heldout_loss=0.6, accuracy=0.7, elapsed=2.1),
    ]
    loss_fig = loss_figure(log, 2)
    assert list(loss_fig.data[0].y) == [0.7, 0.6]
    assert any("ln 2" in (a.text or "") for a in loss_fig.layout.annotations)
    assert list(accuracy_figure(log).data[0].y) == [0.5, 0.7]


def test_the_chance_lines_follow_the_notnext_share():
    # At q = 0.8 always answering NotNext is right 80% of the time (held-out pairs share q) and scores H(0.8).
    _, events = run_all(tiny_config(steps=1, eval_pairs=16, not_next_share=0.8))
    start = first_of(events, StartEvent)
    assert start is not None and start.chance_accuracy == pytest.approx(0.8)
    assert start.chance_loss == pytest.approx(-(0.8 * math.log(0.8) + 0.2 * math.log(0.2)))
    (line,) = accuracy_figure(events).layout.shapes
    assert line.y0 == pytest.approx(0.8) and "80%" in accuracy_figure(events).layout.annotations[0].text
    (line,) = loss_figure(events).layout.shapes
    assert line.y0 == pytest.approx(start.chance_loss)
    # A log from before the field existed still draws 50%.
    old = event_from_dict({k: v for k, v in start.to_dict().items() if k != "chance_accuracy"})
    assert accuracy_figure([old]).layout.shapes[0].y0 == 0.5
    # The Train tab says the same before the run starts.
    from explorer.ui.training_view import _task_caption

    assert "20% IsNext, 80% NotNext" in _task_caption("bert", 0.8) and "H(q) = 0.500" in _task_caption("bert", 0.8)
    assert "half IsNext, half NotNext" in _task_caption("bert", 0.5) and "ln 2" in _task_caption("bert", 0.5)


def test_run_events_and_presets_validate():
    for name, config in PRESETS.items():
        assert config.problems() == [], name
    trainer, events = run_all(tiny_config(steps=2, eval_pairs=16))
    assert events[0].kind == "start" and events[-1].kind == "end"
    assert trainer.step == 2 and events[-1].step == 2


def test_chance_text_says_ln_2_only_at_a_50_50_share():
    from explorer.labels import binary_entropy

    assert chance_text(binary_entropy(0.5)) == "ln 2 = 0.693"
    assert chance_text(binary_entropy(0.3), 4) == "H(q) = 0.6109"


def test_frozen_word_embeddings_stay_fixed(tiny_bert_dir):
    from explorer.models import load_model
    from explorer.training import TrainConfig, trainable_groups

    model = load_model(str(tiny_bert_dir), "cpu").model
    groups = trainable_groups(model, TrainConfig(train_what="full", freeze_word_embeddings=True))
    trained = {id(p) for g in groups for p in g["params"]}
    assert id(model.bert.embeddings.word_embeddings.weight) not in trained
    assert id(model.bert.embeddings.position_embeddings.weight) in trained
    assert not model.bert.embeddings.word_embeddings.weight.requires_grad


def test_the_train_command_passes_same_source_negatives_to_the_sampler():
    import argparse

    from explorer.commands import train as train_command
    from explorer.corpus import combine
    from explorer.training import make_sampler

    parser = argparse.ArgumentParser()
    train_command.add_arguments(parser)
    config = train_command.config_from_args(parser.parse_args(["--corpus", "sotu+wiki", "--same-source-negatives"]))
    assert (
        config.same_source_negatives and not train_command.config_from_args(parser.parse_args([])).same_source_negatives
    )
    mixture = combine([Corpus("x", topic_corpus(6).documents), Corpus("y", topic_corpus(6, seed=1).documents)])
    sampler = make_sampler(mixture, load_model("bundled:minilm-untrained", "cpu").tokenizer, config, seed=0)
    pairs = [p for p in sampler.sample_many(200) if p.label == 1]
    assert pairs and all(mixture.source(p.doc_a) == mixture.source(p.doc_b) for p in pairs)


def test_the_train_command_passes_similar_negatives_to_the_sampler():
    import argparse

    from explorer.commands import train as train_command
    from explorer.training import make_sampler

    parser = argparse.ArgumentParser()
    train_command.add_arguments(parser)
    config = train_command.config_from_args(parser.parse_args(["--similar-negatives", "0.5"]))
    assert (
        config.similar_negatives == 0.5 and train_command.config_from_args(parser.parse_args([])).similar_negatives == 0
    )
    sampler = make_sampler(topic_corpus(6), load_model("bundled:minilm-untrained", "cpu").tokenizer, config, seed=0)
    assert sampler.similar_negatives == 0.5 and sampler.negatives.similar is not None
    with pytest.raises(ValueError, match="Similar negatives"):
        train_command.config_from_args(parser.parse_args(["--similar-negatives", "2"]))


def test_an_extra_corpus_joins_training_only_and_leaves_the_heldout_split_alone():
    import argparse

    from explorer.commands import train as train_command
    from explorer.corpus import load_corpus

    corpus = topic_corpus(n_docs=30)
    plain = Trainer(tiny_config(steps=1, heldout_fraction=0.2), corpus=corpus)
    extra = Trainer(tiny_config(steps=1, heldout_fraction=0.2, extra_corpus="news"), corpus=corpus)
    news = load_corpus("news")
    assert extra.heldout_corpus.documents == plain.heldout_corpus.documents
    assert extra.train_corpus.documents == plain.train_corpus.documents + news.documents
    # Each added document keeps its source, so same-source negatives stay inside it.
    assert {
        extra.train_corpus.source(i)
        for i in range(len(plain.train_corpus.documents), len(extra.train_corpus.documents))
    } == {"news"}
    news_sentences = {s for d in news.documents for s in d}
    assert any(p.a in news_sentences for p in extra.sampler.sample_many(400))
    assert not any(p.a in news_sentences or p.b in news_sentences for p in extra.heldout_pairs)

    parser = argparse.ArgumentParser()
    train_command.add_arguments(parser)
    assert train_command.config_from_args(parser.parse_args(["--extra-corpus", "kjv"])).extra_corpus == "kjv"
    assert train_command.config_from_args(parser.parse_args([])).extra_corpus == ""
    with pytest.raises(TrainConfigError, match="Extra training corpus 'bible'"):
        train_command.config_from_args(parser.parse_args(["--extra-corpus", "bible"]))


def test_an_extra_corpus_that_repeats_the_corpus_is_refused():
    # Its held-out documents would join the training side, and the held-out curve would score trained text.
    from explorer.corpus import CorpusError, known_corpus_name, load_corpus

    for corpus, extra in (("sotu", "sotu"), ("sotu+wiki", "wiki"), ("default", "sotu+kjv"), ("", "sotu")):
        with pytest.raises(TrainConfigError, match=r"repeats (sotu|wiki) from the corpus"):
            tiny_config(corpus=corpus, extra_corpus=extra).validate()
    assert tiny_config(corpus="sotu+wiki", extra_corpus="kjv").validate().extra_corpus == "kjv"
    # A corpus naming one part twice would hold two copies of each document, one of them on each side.
    assert not known_corpus_name("sotu+sotu") and known_corpus_name("sotu+kjv")
    with pytest.raises(CorpusError, match="more than once"):
        load_corpus("sotu+kjv+sotu")


def test_label_smoothing_is_one_declaration_and_smooths_only_the_training_loss():
    """A setting declared once on TrainConfig: its CLI flag, its check and its saved value follow; the loss is
    checked against the smoothed cross-entropy written out by hand."""
    import argparse

    from explorer.commands import train as train_command

    parser = argparse.ArgumentParser()
    train_command.add_arguments(parser)
    assert train_command.config_from_args(parser.parse_args(["--label-smoothing", "0.2"])).label_smoothing == 0.2
    with pytest.raises(TrainConfigError, match="Label smoothing"):
        train_command.config_from_args(parser.parse_args(["--label-smoothing", "1.5"]))
    assert tiny_config(label_smoothing=0.2).to_dict()["label_smoothing"] == 0.2

    trainer = Trainer(tiny_config(steps=1, eval_pairs=16, label_smoothing=0.2), corpus=topic_corpus())
    batch, s = trainer.eval_batches[0], 0.2
    with torch.no_grad():
        _, smoothed, _, logits = trainer.losses(batch, None, smoothing=s)
        _, plain, _, _ = trainer.losses(batch, None)
    log_p = torch.log_softmax(logits.float(), -1)
    true_nll = -log_p[torch.arange(len(log_p)), batch["labels"]]
    expected = ((1 - s) * true_nll + s * -log_p.mean(-1)).mean()  # targets (1 - s/2, s/2)
    assert torch.allclose(smoothed, expected, atol=1e-6) and torch.allclose(plain, true_nll.mean(), atol=1e-6)

    # The run smooths its training steps and never its held-out evaluation.
    calls: list[tuple[str, float]] = []

    def spy(name, real):
        return lambda batch, mlm, smoothing=0.0: calls.append((name, smoothing)) or real(batch, mlm, smoothing)

    trainer.forward, trainer.losses = spy("train", trainer.forward), spy("eval", trainer.losses)
    list(trainer.run())
    assert {smoothing for name, smoothing in calls if name == "train"} == {0.2}
    assert {smoothing for name, smoothing in calls if name == "eval"} == {0.0}
