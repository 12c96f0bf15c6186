"""Word2vec Studio: `streamlit run app.py`.

The entry point is the frame around every page: page config, the navigation (the four steps in
order), who is looking (the browser's token, the operator unlock), the `?data=` / `?run=` link
handling and the sidebar status. Each page is a file under app_pages/,
not pages/: Streamlit treats a pages/ folder as an old-style multipage app and, right after a
server start, would serve a link such as /map as a bare page without this frame.
"""

import streamlit as st

from w2v_ui import loaders, manage_view, nav_clicks, state, viewer, widgets

st.set_page_config(page_title="Word2vec Studio", page_icon=":material/hub:", layout="wide")

navigation = st.navigation(
    {
        "": [st.Page(widgets.HOME, title="Home", icon=":material/home:", default=True)],
        "Steps": [
            st.Page(widgets.DATA, title="1 · Data", icon=":material/description:"),
            st.Page(widgets.PREPROCESS, title="2 · Preprocess", icon=":material/tune:"),
            st.Page(widgets.TRAIN, title="3 · Train", icon=":material/model_training:"),
        ],
        "4 · Explore": [
            st.Page(widgets.MAP, title="Map", icon=":material/scatter_plot:"),
            st.Page(widgets.NEIGHBOURS, title="Neighbours", icon=":material/hub:"),
            st.Page(widgets.COMPARE, title="Compare epochs", icon=":material/compare_arrows:"),
            st.Page(widgets.EVALUATE, title="Evaluate", icon=":material/fact_check:"),
            st.Page(widgets.STABILITY, title="Stability", icon=":material/stacks:"),
            st.Page(widgets.EXPORT, title="Export", icon=":material/download:"),
            st.Page(widgets.CARD, title="Methods card", icon=":material/article:"),
        ],
    }
)
loaders.start_warm_up()  # once per server process
state.restore_widget_values()
state.sync_data_with_url()
state.sync_run_with_url()  # after the data: a run link in a tab without data takes the run's data
state.write_links()
status = st.sidebar.empty()
# Drawn before the page too: after a page's st.stop() (an empty state, an error box) every further
# st call in this run is refused, so the block drawn in `finally` below would never appear.
widgets.sidebar_status(status)
manage_view.operator_box(st.sidebar)
viewer.keep_token_in_browser(st.sidebar)
nav_clicks.keep_link_clicks_after_typing(st.sidebar)  # a click right after typing is kept
try:
    navigation.run()
finally:  # also after st.stop() or an interrupted run
    state.remember_widget_values()
    widgets.sidebar_status(status)  # what the page changed (a run started, data chosen)
    state.write_links()  # and into the address bar (after a st.stop() the next run does it)
