"""The page's model-path policy (NSP_EXPLORER_MODEL_PATHS), without the page."""

from __future__ import annotations

import pytest

from explorer.model_paths import ANY_PATH, CHECKPOINTS_ONLY, model_path_policy, page_may_open


@pytest.fixture
def classroom(monkeypatch, tmp_path):
    """A classroom server whose checkpoints live under tmp_path/home."""
    monkeypatch.setenv("NSP_EXPLORER_MODEL_PATHS", " Checkpoints ")
    monkeypatch.setenv("NSP_EXPLORER_HOME", str(tmp_path / "home"))
    (tmp_path / "home" / "checkpoints" / "run1").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    return tmp_path


def test_by_default_every_source_may_be_opened(monkeypatch, tmp_path):
    monkeypatch.delenv("NSP_EXPLORER_MODEL_PATHS", raising=False)
    assert model_path_policy() == ANY_PATH
    assert page_may_open(str(tmp_path)) and page_may_open("/etc") and page_may_open("bert-base-uncased")
    monkeypatch.setenv("NSP_EXPLORER_MODEL_PATHS", "anything else")
    assert model_path_policy() == ANY_PATH and page_may_open("/etc")


def test_a_classroom_server_opens_hub_ids_and_its_checkpoints_only(classroom):
    assert model_path_policy() == CHECKPOINTS_ONLY
    assert page_may_open("bert-base-uncased") and page_may_open("google/bert_uncased_L-2_H-128_A-2")
    assert page_may_open(str(classroom / "home" / "checkpoints" / "run1"))
    assert not page_may_open(str(classroom / "elsewhere"))
    assert not page_may_open(str(classroom / "home" / "checkpoints" / ".." / ".." / "elsewhere"))  # no escape
    assert not page_may_open("/etc") and not page_may_open("./nowhere") and not page_may_open("~")


def test_an_unknown_users_home_is_refused_not_raised(classroom):
    assert not page_may_open("~no-such-user-of-this-machine/models")


def test_paths_the_os_cannot_resolve_are_refused_not_raised(classroom, tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)  # resolving it is a symlink loop (RuntimeError or OSError, by Python version)
    for source in ("/tmp/a\x00b", "./x\x00", "~/\x00", str(loop), str(loop / "model")):
        assert page_may_open(source) is False
