"""NSP vs SOP vs no sentence objective: the cross table, the pair both ways, and the label prior."""

import dataclasses
import json
import math

import numpy as np
import pytest
import torch
from test_training import tiny_config, topic_corpus

from explorer.cli import main as cli_main
from explorer.labels import constant_accuracy, prior_logit_gap
from explorer.models import BUNDLED_TRAINED, BUNDLED_UNTRAINED, load_model
from explorer.nsp import head_bias_gap, score_pairs
from explorer.objectives import (
    ALBERT_TABLE5,
    OWN_DRAW_MARK,
    TASKS,
    all_task_pairs,
    cross_table,
    documents_trained_on,
    objective_of,
    order_answer,
    read_shipped_table,
    table_rows_for_display,
    task_corpus,
    unseen_task_pairs,
)
from explorer.training import TrainConfig, Trainer
from explorer.training.data import trained_documents


def test_every_cell_is_what_explorer_eval_reports_on_the_same_pairs(tmp_path, capsys):
    pairs_dir = tmp_path / "pairs"
    argv = ["objectives", "--only", "--model", BUNDLED_TRAINED, "--pairs", "12", "--device", "cpu"]
    assert cli_main([*argv, "--save-pairs", str(pairs_dir), "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    (row,) = table["rows"]
    assert row["objective"] == "NSP" and table["pairs_per_cell"] == 12
    for task in TASKS:
        saved = [json.loads(line) for line in (pairs_dir / f"{task.key}.jsonl").read_text().splitlines()]
        assert len(saved) == 12
        assert cli_main(["eval", str(pairs_dir / f"{task.key}.jsonl"), "--model", BUNDLED_TRAINED, "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["n"] == row["cells"][task.key]["n"] == 12
        assert report["accuracy"] == pytest.approx(row["cells"][task.key]["accuracy"], abs=1e-12)
        assert report["mean_loss"] == pytest.approx(row["cells"][task.key]["mean_loss"], abs=1e-6)


def test_the_same_pairs_for_every_row_and_every_run(capsys):
    argv = ["objectives", "--only", "--model", BUNDLED_UNTRAINED, "--pairs", "4", "--json"]
    cli_main(argv)
    first = json.loads(capsys.readouterr().out)
    cli_main(argv)
    second = json.loads(capsys.readouterr().out)
    assert first["rows"][0]["cells"] == second["rows"][0]["cells"]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--pairs", "0"], "from 1 to"),
        (["--only"], "no model"),
        (["--only", "--model", "/no/such/folder"], "There is no folder /no/such/folder"),
        # Checked before the scoring, which it used to follow (and lose the table).
        (["--out", "/no/such/folder/table.json"], "cannot write the table to /no/such/folder/table.json"),
        (["--out", "/tmp"], "cannot write the table to /tmp"),
        (["--save-pairs", __file__], f"cannot write the pairs to {__file__}"),
    ],
)
def test_bad_requests_are_one_line_errors(argv, words, capsys):
    assert cli_main(["objectives", *argv]) == 2
    assert words in capsys.readouterr().err


def test_order_answer_scores_both_orders_like_two_separate_calls(bundled):
    loaded = load_model(BUNDLED_TRAINED, "cpu")
    a, b = "The storm knocked out power across the city.", "Crews worked through the night to restore it."
    answer = order_answer(loaded, a, b)
    singles = [score_pairs(loaded, [pair]) for pair in ((a, b), (b, a))]
    for p, logits in zip((answer.forward, answer.swapped), singles, strict=True):
        z = logits[0]
        assert p == pytest.approx(1 / (1 + math.exp(z[1] - z[0])), abs=1e-5)
    assert answer.flips == ((answer.forward >= 0.5) != (answer.swapped >= 0.5))


def test_flip_words():
    from explorer.objectives import OrderAnswer

    assert OrderAnswer(0.9, 0.1).flip_words == "yes" and OrderAnswer(0.502, 0.496).flip_words == "barely"
    assert OrderAnswer(0.9, 0.8).flip_words == "no" and OrderAnswer(0.3, 0.2).flip_words == "no"


def test_objective_of_reads_the_run_log(tmp_path):
    assert objective_of(BUNDLED_TRAINED) == "NSP" and objective_of(BUNDLED_UNTRAINED).startswith("none")
    (tmp_path / "training_info.json").write_text(json.dumps({"config": {"mode": "sop"}}))
    assert objective_of(str(tmp_path)) == "SOP (trained here)"
    assert objective_of("some/hub-model") == "unknown"


def test_a_model_trained_here_is_scored_only_on_documents_it_did_not_train_on(tmp_path):
    # A Train-tab run splits its own corpus with its own seed: some of the table's held-out documents are its
    # training documents, and the held-out columns must not score it on them.
    config = TrainConfig(corpus="sotu", seed=3, mode="sop")
    (tmp_path / "training_info.json").write_text(json.dumps({"config": config.to_dict()}))
    trained = documents_trained_on(str(tmp_path))
    assert trained == {tuple(doc) for doc in trained_documents(config)}
    heldout_task = next(task for task in TASKS if task.corpus == "heldout")
    seen_there = [doc for doc in task_corpus(heldout_task).documents if tuple(doc) in trained]
    assert seen_there, "this run trains on some documents the table holds out"
    assert documents_trained_on(BUNDLED_TRAINED) == set() and documents_trained_on(str(tmp_path / "nope")) == set()

    untrained = load_model(BUNDLED_UNTRAINED, "cpu")
    run = dataclasses.replace(untrained, source=str(tmp_path))
    table = cross_table([(untrained, "none"), (run, "SOP (trained here)")], 8)
    plain, own = table["rows"]
    assert plain["own_draw"] == []
    assert set(own["own_draw"]) == {task.key for task in TASKS if task.corpus == "heldout"}
    assert all(cell["n"] == 8 for cell in own["cells"].values())
    # The pairs its held-out cells used hold no sentence of a document it trained on; news is shared.
    shared = all_task_pairs(untrained.tokenizer, 8)
    pairs = unseen_task_pairs(untrained.tokenizer, 8, trained, shared)
    long_sentences = [s for doc in seen_there for s in doc if len(s) > 40]
    for key in own["own_draw"]:
        assert pairs[key] != shared[key]
        assert not any(s in p.a or s in p.b for p in pairs[key] for s in long_sentences)
    assert all(pairs[t.key] is shared[t.key] for t in TASKS if t.key not in own["own_draw"])
    shown = table_rows_for_display(table)
    assert not shown[0]["model"].endswith(OWN_DRAW_MARK) and shown[1]["model"].endswith(OWN_DRAW_MARK)


def test_albert_rows_fill_only_the_held_out_columns():
    table = {
        "tasks": [{"key": t.key, "title": t.title, "mode": t.mode, "corpus": t.corpus} for t in TASKS],
        "rows": [],
        "albert_table5": ALBERT_TABLE5,
    }
    rows = table_rows_for_display(table)
    assert [r["objective"] for r in rows] == ["NSP", "SOP"]
    assert rows[0]["NSP · held-out"] == 90.5 and rows[0]["SOP · held-out"] == 52.0
    assert rows[1]["NSP · held-out"] == 78.9 and rows[1]["SOP · held-out"] == 86.5
    assert all("news" not in key for row in rows for key in row)


def test_the_shipped_table_covers_every_task_and_row():
    table = read_shipped_table()
    if table is None:
        pytest.skip("no shipped table in this checkout")
    assert [t["key"] for t in table["tasks"]] == [t.key for t in TASKS]
    for row in table["rows"]:
        assert set(row["cells"]) == {t.key for t in TASKS}
        assert all(cell["n"] == table["pairs_per_cell"] for cell in row["cells"].values())


def test_prior_formulas():
    assert prior_logit_gap(0.5) == 0.0 and prior_logit_gap(0.8) == pytest.approx(math.log(4))
    assert constant_accuracy(0.2) == constant_accuracy(0.8) == 0.8
    with pytest.raises(ValueError):
        prior_logit_gap(1.0)


def test_a_head_only_run_on_a_constant_label_task_learns_the_prior_gap(tiny_bert_dir, tmp_path):
    # With the pooler zeroed, pooled = tanh(0) = 0 for every pair: the head sees nothing but its bias, so the
    # task is "predict a label drawn with probability q", and the best the head can do is the prior gap.
    model = load_model(str(tiny_bert_dir), "cpu")
    with torch.no_grad():
        model.model.bert.pooler.dense.weight.zero_()
        model.model.bert.pooler.dense.bias.zero_()
    model.model.save_pretrained(tmp_path / "blind")
    model.tokenizer.save_pretrained(tmp_path / "blind")
    q = 0.25
    config = tiny_config(
        base_model=str(tmp_path / "blind"),
        train_what="head",
        not_next_share=q,
        steps=150,
        batch_size=64,
        lr=0.05,
        warmup=TrainConfig().warmup,
        weight_decay=0.0,
        eval_every=1000,
        eval_pairs=16,
    )
    trainer = Trainer(config, corpus=topic_corpus())
    list(trainer.run())
    assert head_bias_gap(trainer.model) == pytest.approx(prior_logit_gap(q), abs=0.12)
    assert np.allclose(
        trainer.model.cls.seq_relationship.weight.detach().numpy(),
        model.model.cls.seq_relationship.weight.detach().numpy(),
    )
