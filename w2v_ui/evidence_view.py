"""The Evidence section of the Neighbours and Map pages: a word's passages in the texts, the passages
it shares with a chosen neighbour and their shared context words, and a whole document on request.

The core (`w2v_core.evidence`) returns plain pieces of text; here every piece is escaped on its own
(`escape`) and only then wrapped in the highlight, so a token such as `<img src=x onerror=...>` or
`![x](http://...)` is shown as those characters, never as HTML, an image or a link (st.markdown
without unsafe_allow_html). Whole documents go to `st.code`, which shows text as it is.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from w2v_core.errors import UnknownWordError
from w2v_core.evidence import Passage, RunEvidence
from w2v_ui import runs, state, widgets

HIGHLIGHT = {"word": "orange", "other": "blue"}
PASSAGES = 20


@st.cache_resource(max_entries=4, show_spinner=False)
def _run_evidence(run_name: str, stamp: int) -> RunEvidence:
    del stamp  # part of the cache key only
    return RunEvidence(runs.runs_root() / run_name)


def run_evidence(run_name: str) -> RunEvidence:
    """One `RunEvidence` per run, shared by every session (it builds its index once)."""
    stamp = runs.run_folder(run_name).corpus_npz.stat().st_mtime_ns
    return _run_evidence(run_name, stamp)


def escape(text: str) -> str:
    """Text shown literally in st.markdown: Markdown's specials and & (entities) escaped."""
    return widgets.escape_markdown(text)


def passage_markdown(passage: Passage) -> str:
    """One passage as Markdown: each piece escaped, the marked words on a coloured background."""
    parts = []
    for piece in passage.pieces:
        text = escape(piece.text)
        parts.append(f":{HIGHLIGHT[piece.mark]}-background[{text}]" if piece.mark else text)
    return "".join(parts)


def _lines(passages: list[Passage]) -> str:
    # two spaces before a newline: a line break inside one Markdown paragraph
    return "  \n".join(f"`{p.document}` {passage_markdown(p)}" for p in passages)


def word_evidence(run_name: str, word: str, emb: Any, k: int, where: str) -> None:
    """The Evidence section for `word`: a toggle, then its passages, a neighbour's shared passages
    and contexts (neighbours: the `k` nearest in `emb`), and a whole document. `where` scopes the
    widget keys to the page ("nb", "map")."""
    st.markdown("##### Evidence from the texts")
    if not st.toggle(
        f"Show the passages of '{widgets.shown_word(word)}'",
        key=state.scoped(state.EV_SHOW, where),
        help="Where the word occurs in the texts the run was trained on, and which context "
        "words it shares with a neighbour: the counts behind their similarity.",
    ):
        return
    with widgets.friendly_errors("finding the passages"):
        with st.spinner("Finding the passages…"):
            evidence = run_evidence(run_name)
            try:
                found = evidence.kwic(word, limit=PASSAGES)
            except UnknownWordError as error:
                st.warning(str(error), icon=":material/help:")
                return
        more = (
            f"; the first {len(found.passages)}" if found.occurrences > len(found.passages) else ""
        )
        st.caption(
            f"'{escape(word)}' occurs {found.occurrences:,} times in {found.documents:,} documents"
            f"{more}. The number before each passage is its document."
        )
        if found.text_note:
            st.info(found.text_note, icon=":material/info:")
        if found.passages:
            st.markdown(_lines(found.passages))
        _document_picker(evidence, found.passages, where)
        neighbours = [w for w, _ in emb.most_similar(word, k=k)]
        _pair(evidence, word, neighbours, where)


def _pair(evidence: RunEvidence, word: str, neighbours: list[str], where: str) -> None:
    other = st.selectbox(
        "A neighbour to compare with",
        [None, *neighbours],
        format_func=lambda w: "(choose a neighbour)" if w is None else w,
        key=state.scoped(state.EV_NEIGHBOUR, where, word),
    )
    if other is None:
        return
    with st.spinner("Counting the shared contexts…"):
        pair = evidence.pair(word, other, limit=PASSAGES)
    st.caption(
        f"'{escape(word)}' and '{escape(other)}' are at most {pair.window} words apart (the run's "
        f"window) {pair.co_occurrences:,} times, in {pair.documents:,} documents."
    )
    if pair.text_note:
        st.info(pair.text_note, icon=":material/info:")
    if pair.passages:
        st.markdown(_lines(pair.passages))
    if pair.shared:
        st.caption(
            "Context words of both (within the window of each): word2vec makes words similar when "
            "they share contexts."
        )
        st.dataframe(
            {
                "context word": [s.word for s in pair.shared],
                f"with {word}": [s.with_word for s in pair.shared],
                f"with {other}": [s.with_other for s in pair.shared],
            },
            hide_index=True,
        )
    else:
        st.caption("They share no context word.")


def _document_picker(evidence: RunEvidence, passages: list[Passage], where: str) -> None:
    documents = list(dict.fromkeys(p.document for p in passages))
    if not documents:
        return
    chosen = st.selectbox(
        "Show a whole document",
        [None, *documents],
        format_func=lambda d: "(choose a document)" if d is None else f"document {d}",
        key=state.scoped(state.EV_DOCUMENT, where),
    )
    if chosen is not None:
        st.code(evidence.document_text(chosen), language=None, wrap_lines=True)
