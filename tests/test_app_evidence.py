"""The Evidence section of the Neighbours page, on a run made from an uploaded text: passages with
the word highlighted, hostile tokens shown literally, a whole document, a neighbour's shared contexts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from app_support import app_test, page
from evidence_support import make_text_run

from w2v_core.evidence import Passage, Piece
from w2v_core.preprocess import PreprocessConfig
from w2v_ui.evidence_view import passage_markdown

IMG = "<img src=x onerror=alert(1)>"
PICTURE = "![x](http://127.0.0.1:9/x.png)"
LINES = [
    f"the cat {IMG} {PICTURE} &lt;b&gt;&amp; sat",
    "a dog and the cat sat together",
    "the dog sat",
]


def unescape(markdown: str) -> str:
    """What a reader sees of escaped Markdown text: each backslash escape is its character."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")  # the word joiner is unseen


def test_passage_markdown_escapes_every_piece() -> None:
    passage = Passage(0, 0, (Piece("the "), Piece(IMG, "word"), Piece(f" {PICTURE} &amp;")), True)
    assert passage_markdown(passage) == (
        r"the :orange-background[\<img src=x onerror=alert\(1\)\>] "
        r"\!\[x\]\(http"
        "\u2060"
        r"\://127\.0\.0\.1\:9/x\.png\) \&amp;"  # U+2060: no autolink
    )


@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    root = tmp_path / "runs"
    monkeypatch.setenv("W2V_RUNS_DIR", str(root))
    monkeypatch.setenv("W2V_WARM_UP", "0")
    config = PreprocessConfig(char_filter="none", stopwords_language=None, min_count=1)
    return make_text_run(root / "20261201-120000-hostile", LINES, config, vectors=True).name


def test_neighbours_page_shows_the_evidence_of_a_word(run: str) -> None:
    at = app_test(timeout=120).run()
    at.session_state["run"] = run
    at.switch_page(page("neighbours")).run()
    at.text_input(key="nb.word").input("cat").run()
    assert not at.exception, at.exception
    at.toggle(key="evidence.show.nb").set_value(True).run()
    assert not at.exception, at.exception
    assert any("'cat' occurs 2 times in 2 documents" in c.value for c in at.caption)
    lines = next(m for m in at.markdown if "orange-background" in m.value)
    assert lines.proto.allow_html is False
    first, second = lines.value.split("  \n")
    # the hostile tokens are there, escaped, and read back exactly as written
    assert first.startswith("`0` the :orange-background[cat] ")
    assert unescape(first.removeprefix("`0` the :orange-background[cat] ")) == (
        f"{IMG} {PICTURE} &lt;b&gt;&amp; sat"
    )
    assert "<img" not in first.replace("\\<img", "") and "](" not in first
    assert second == "`1` a dog and the :orange-background[cat] sat together"

    at.selectbox(key="evidence.document.nb").set_value(0).run()
    assert [c.value for c in at.code] == [LINES[0]]  # the whole document, as text

    at.selectbox(key="evidence.neighbour.nb.cat").set_value("dog").run()
    assert not at.exception, at.exception
    assert any("'cat' and 'dog' are at most 2 words apart" in c.value for c in at.caption)
    shared = at.dataframe[-1].value
    assert list(shared.columns) == ["context word", "with cat", "with dog"]
    assert "sat" in list(shared["context word"])
