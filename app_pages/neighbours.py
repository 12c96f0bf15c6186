"""Neighbours: the closest words, analogies, similarity of two words, odd one out."""

import streamlit as st

from w2v_core.errors import UnknownWordError
from w2v_ui import evidence_view, queries, state, widgets

widgets.page_intro(
    "Neighbours",
    "Ask the trained vectors questions: which words are closest to a word, analogies "
    "(*man* is to *king* as *woman* is to ?), how similar two words are, which word does not fit.",
    "Closeness is cosine similarity: 1 means the same direction, 0 unrelated. Next: see how these "
    "neighbours formed over training on Compare epochs.",
)
run_name, epoch, kind, emb = widgets.explored_embeddings()
if warning := queries.undertrained_warning(emb):
    st.warning(warning, icon=":material/warning:")


tab_neighbours, tab_analogy, tab_similarity, tab_odd = st.tabs(
    ["Nearest neighbours", "Analogy", "Similarity", "Odd one out"]
)

with tab_neighbours:
    left, right = st.columns([3, 1])
    word = left.text_input("Word", key=state.NB_WORD, help="One word from the vocabulary.")
    state.default(state.NB_K, 10)
    k = right.slider("How many", 5, 50, key=state.NB_K)
    examples = queries.example_words(emb)
    if examples and not word.strip():
        st.caption("Try one of these:")
        columns = st.columns(len(examples))
        for column, example in zip(columns, examples, strict=False):
            column.button(
                widgets.escape_markdown(example),  # labels are Markdown: corpus words are not
                key=state.scoped(state.NB_WORD, "example", example),
                on_click=state.put,
                args=(state.NB_WORD, example),
            )
    if word.strip():
        with widgets.friendly_errors("finding neighbours"):
            try:
                table = queries.neighbours_table(emb, word.strip(), k)
                table = queries.with_study_agreement(table, run_name, word.strip(), k)
                st.dataframe(table, hide_index=True, column_config=queries.NEIGHBOUR_COLUMNS)
            except UnknownWordError as error:
                widgets.unknown_word(error, state.NB_WORD)
    if word.strip() in emb:
        evidence_view.word_evidence(run_name, word.strip(), emb, k, where="nb")

with tab_analogy:
    st.markdown(
        "**a** is to **b** as **c** is to **?** — answered by the words closest to b − a + c."
    )
    cols = st.columns(3)
    a = cols[0].text_input("a", key=state.NB_A, placeholder="man")
    b = cols[1].text_input("b", key=state.NB_B, placeholder="king")
    c = cols[2].text_input("c", key=state.NB_C, placeholder="woman")
    if a.strip() and b.strip() and c.strip():
        with widgets.friendly_errors("solving the analogy"):
            try:
                table = queries.analogy_table(emb, a.strip(), b.strip(), c.strip())
                st.dataframe(table, hide_index=True, column_config=queries.NEIGHBOUR_COLUMNS)
                words = [a.strip(), b.strip(), c.strip()]
                if caveat := queries.analogy_caveat(emb, words, table):
                    st.warning(caveat, icon=":material/warning:")
            except UnknownWordError as error:
                key = {a.strip(): state.NB_A, b.strip(): state.NB_B}.get(error.word, state.NB_C)
                widgets.unknown_word(error, key)
    else:
        st.caption("Fill in all three words.")

with tab_similarity:
    cols = st.columns(2)
    first = cols[0].text_input("First word", key=state.NB_SIM_1)
    second = cols[1].text_input("Second word", key=state.NB_SIM_2)
    if first.strip() and second.strip():
        with widgets.friendly_errors("comparing the words"):
            try:
                value = emb.similarity(first.strip(), second.strip())
                shown = [widgets.escape_markdown(w.strip()) for w in (first, second)]
                st.metric(f"Cosine similarity of '{shown[0]}' and '{shown[1]}'", f"{value:.3f}")
                st.caption(queries.similarity_words(value))
            except UnknownWordError as error:
                widgets.unknown_word(
                    error, state.NB_SIM_1 if error.word == first.strip() else state.NB_SIM_2
                )

with tab_odd:
    text = st.text_input(
        "Three or more words, separated by spaces or commas",
        key=state.NB_ODD,
        placeholder="breakfast lunch dinner car",
    )
    words = queries.split_words(text)
    if len(words) >= 3:
        with widgets.friendly_errors("finding the odd one out"):
            try:
                odd = emb.doesnt_match(words)
                st.success(f"The odd one out: **{widgets.escape_markdown(odd)}**")
                st.caption("It is the word least similar to the average of all the words.")
            except UnknownWordError as error:
                widgets.unknown_word(error, state.NB_ODD, in_list=True)
    elif text.strip():
        st.caption("Give at least three words.")
