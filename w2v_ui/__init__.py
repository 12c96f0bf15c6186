"""w2v_ui: the thin layer between the Streamlit pages and `w2v_core`.

Owns: session-state keys (`state`), where runs live and how they are summarised (`runs`), background
training jobs (`jobs`), cached loaders (`loaders`), plotly figures (`charts`), training presets and
corpus-scaled defaults (`train_settings`) and small reusable widgets (`widgets`).
Leaves out: anything a command-line user would also need (that belongs in `w2v_core`). Only this
package and the pages import streamlit; `w2v_core` never does.
"""
