"""Property tests of every shell command's argument checks: explorer.cli.main with fuzzed argv.

The property: each command ends with exit code 0 or 2 (argparse's usage errors and CommandError); a 2
says why in one "error: ..." line on stderr; no other exception escapes. Models are the tiny saved BERT
(loaded once per source), `train` stops just before its model would load, and files are written under
a temporary folder.
"""

from __future__ import annotations

import contextlib
import io
import itertools

import pytest
from fuzz_settings import budget
from hypothesis import given
from hypothesis import strategies as st
from test_fuzz_corpus import bert_format, documents
from test_fuzz_eval_file import WORST_FILES

from explorer import cli, models, training
from explorer.commands import eval as eval_command
from explorer.commands import export_delta, score
from explorer.commands import train as train_command

# Any argument a shell can pass: any code point but NUL, lone surrogates included (bytes that are not UTF-8).
any_arg = st.text(st.characters(codec=None, exclude_characters="\x00"), max_size=12)
ints = st.sampled_from(["-1", "0", "1", "3", "5", "512", "513", "99999999999999999999999", "nan", "1e3", "x", ""])
floats = st.sampled_from(["nan", "inf", "-inf", "-0.5", "0", "0.3", "1", "1.5", "1e-400", "1e400", "abc", ""])
devices = st.sampled_from(["cpu", "cpu", "cuda", "gpu", "tpu", ""])
_counter = itertools.count()


class Accepted(Exception):
    """Raised by the stand-in trainer: the arguments passed every check made before the model loads."""


@pytest.fixture(scope="module")
def places(tmp_path_factory, tiny_bert_dir):
    root = tmp_path_factory.mktemp("fuzz-cli")
    (root / "empty").mkdir()
    (root / "a file.txt").write_text("not a model")
    return {"root": root, "tiny": str(tiny_bert_dir)}


@pytest.fixture(autouse=True)
def cheap_models(monkeypatch):
    """Each model source loads once (the checks in load_model still run for every new source)."""
    loaded: dict = {}

    def load_once(source="bundled:minilm-untrained", device="auto"):
        if (source, device) not in loaded:
            loaded[source, device] = models.load_model(source, device)
        return loaded[source, device]

    for module in (score, eval_command, export_delta):
        monkeypatch.setattr(module, "load_model", load_once)


def model_source(places) -> st.SearchStrategy:
    root = places["root"]
    odd = ["", "bundled:nope", "~no-such-user-xyz/m", "/etc", str(root / "empty"), str(root / "a file.txt")]
    return st.sampled_from([places["tiny"]] * 4 + odd) | any_arg


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """main(argv) with stdout as strict as a UTF-8 terminal's; returns (exit code, stdout, stderr)."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as stop:  # argparse: --help (0) or a usage error (2)
            assert isinstance(stop.code, int), stop.code
            code = stop.code
        out.flush()
        err.flush()
    return code, out.buffer.getvalue().decode(), err.buffer.getvalue().decode()


def check_exit(argv: list[str]) -> int:
    code, _, err = run_cli(argv)
    assert code in (0, 2), (code, argv, err)
    if code == 2:
        last = err.strip().splitlines()[-1]
        assert last.startswith("error:") or ": error:" in last, err  # CommandError, or argparse's usage line
    return code


def options(draw, spec: dict) -> list[str]:
    """Some of the options in spec (flag -> strategy of values, or None for a switch), in any order."""
    argv = []
    # At most four at once: with more, nearly every draw holds one bad value and the later checks go untried.
    for flag in draw(st.lists(st.sampled_from(sorted(spec)), unique=True, max_size=4)):
        argv += [flag] if spec[flag] is None else [flag, draw(spec[flag])]
    return argv


@st.composite
def score_argv(draw, places):
    a, b = draw(any_arg | st.just("The cat sat.")), draw(any_arg | st.just("It purred."))
    spec = {
        "--label": st.sampled_from(["isnext", "notnext", "IsNext", "2"]),
        "--device": devices,
        "--max-length": ints,
        "--json": None,
    }
    return ["score", a, b, "--model", draw(model_source(places)), *options(draw, spec)]


@st.composite
def eval_argv(draw, places):
    contents = draw(st.sampled_from([*WORST_FILES, b"a,b,label\nThe cat sat.,It purred.,0\n"]) | st.binary(max_size=80))
    path = places["root"] / f"pairs-{next(_counter)}.csv"
    path.write_bytes(contents)
    target = draw(st.sampled_from([str(path)] * 3 + [str(places["root"]), "/no/such/file.csv"]) | any_arg)
    spec = {"--device": devices, "--max-length": ints, "--batch-size": ints, "--json": None}
    return ["eval", target, "--model", draw(model_source(places)), *options(draw, spec)]


@st.composite
def sample_argv(draw, places):
    path = places["root"] / f"corpus-{next(_counter)}.txt"
    path.write_text(bert_format(draw(documents)), encoding="utf-8", errors="surrogatepass")
    corpus = st.sampled_from(["news", "news+news", "nope", "news+", str(path), str(path), str(places["root"])])
    spec = {
        "--n": st.sampled_from(["-1", "0", "2", "100001", "x"]),
        "--seed": ints,
        "--corpus": corpus | any_arg,
        "--mode": st.sampled_from(["bert", "sentences", "sop", "chunks"]),
        "--max-length": ints,
        "--not-next-share": floats,
        "--short-seq-prob": floats,
        "--hard-negatives": None,
        "--similar-negatives": floats,
        "--json": None,
    }
    argv = ["sample", *options(draw, spec)]
    return argv if "--n" in argv else [*argv, "--n", "2"]  # the default of 10 pairs costs time, not coverage


@st.composite
def train_argv(draw, places):
    spec = {
        "--preset": st.sampled_from(["quick demo", "longer run", "tiny from scratch", "huge"]),
        "--steps": ints,
        "--batch-size": ints,
        "--lr": floats,
        "--head-lr": floats,
        "--seed": ints,
        "--train": st.sampled_from(["head", "pooler", "top-2", "top-0", "top-x", "full", "scratch"]) | any_arg,
        "--mlm": None,
        "--freeze-word-embeddings": None,
        "--max-length": ints,
        "--mode": st.sampled_from(["bert", "sentences", "sop", "pairs"]),
        "--not-next-share": floats,
        "--hard-negatives": floats,
        "--same-source-negatives": None,
        "--similar-negatives": floats,
        "--eval-every": ints,
        "--eval-pairs": ints,
        "--bf16": st.sampled_from(["auto", "on", "off", "maybe"]),
        "--max-seconds": floats,
        "--no-time-limit": None,
        "--device": devices,
        "--model": any_arg,
        "--corpus": st.sampled_from(["default", "news", "nope", "news+"]) | any_arg,
        "--extra-corpus": st.sampled_from(["kjv", "nope", ""]),
        "--json": None,
    }
    return ["train", *options(draw, spec)]


@st.composite
def export_argv(draw, places):
    root, tiny = places["root"], places["tiny"]
    checkpoint = draw(st.sampled_from([tiny, tiny, str(root / "empty"), str(root / "a file.txt"), "~nobody-xyz/c"]))
    out = draw(st.sampled_from([str(root / f"delta-{next(_counter)}"), str(root / "a file.txt" / "x"), "/proc/x"]))
    if draw(st.booleans()):
        out = str(root / f"delta-{draw(any_arg)}-{next(_counter)}")
    argv = ["export-delta", checkpoint, "--out", out, "--base", draw(model_source(places))]
    return argv + (["--reference", draw(model_source(places))] if draw(st.booleans()) else [])


@budget(12)
@given(data=st.data())
def test_score_arguments(places, data):
    check_exit(data.draw(score_argv(places)))


@budget(12)
@given(data=st.data())
def test_eval_arguments(places, data):
    check_exit(data.draw(eval_argv(places)))


@budget(5)
@given(data=st.data())
def test_sample_arguments(places, data):
    check_exit(data.draw(sample_argv(places)))


@budget(25)
@given(data=st.data())
def test_train_arguments(places, data, monkeypatch):
    def stand_in(config, corpus=None, **_: object):  # e.g. world=, for torchrun
        assert config.problems() == []
        training.load_training_corpus(config.corpus)  # the corpus-name check the real Trainer makes first
        raise Accepted

    monkeypatch.setattr(train_command, "Trainer", stand_in)
    with contextlib.suppress(Accepted):  # every check passed: the model would load now
        check_exit(data.draw(train_argv(places)))


@budget(6)
@given(data=st.data())
def test_export_delta_arguments(places, data):
    check_exit(data.draw(export_argv(places)))


# The worst argument lists the fuzzer found, as plain regression cases (see bench/results/fuzzing.md).
@pytest.mark.parametrize(
    "argv",
    [
        ["score", "\udcff", "b"],
        ["score", "a", "b", "--model", "~no-such-user-xyz/m"],
        ["eval", "PAIRS", "--batch-size", "0"],
        ["sample", "--n", "100001"],
        ["export-delta", "TINY", "--out", "OUT\udcff", "--base", "TINY"],
    ],
)
def test_worst_argument_lists(places, argv):
    pairs = places["root"] / "worst.csv"
    pairs.write_bytes(b"a,b,label\nThe cat sat.,It purred.,0\n")
    fill = {"PAIRS": str(pairs), "TINY": places["tiny"], "OUT\udcff": str(places["root"] / "out\udcff")}
    argv = [fill.get(arg, arg) for arg in argv]
    if argv[0] == "score":
        argv += ["--model", places["tiny"]] if "--model" not in argv else []
    assert check_exit(argv) == (0 if argv[0] == "export-delta" else 2)


def test_the_issue_case_a_200000_character_field(places):
    """`eval` on a CSV with a 200,000-character field: a one-line error naming the line, exit code 2."""
    path = places["root"] / "long-field.csv"
    path.write_bytes(b'a,b,label\n"' + b"x" * 200_000 + b'",b,0\n')
    code, out, err = run_cli(["eval", str(path), "--model", places["tiny"]])
    assert code == 2 and not out
    assert err.count("\n") == 1 and err.startswith("error: long-field.csv line 2:") and "100,000" in err
