"""w2v_core: train word2vec (skip-gram / CBOW, negative sampling / full softmax) and query it.

A library: it never reads `sys.argv` and never imports streamlit. The CLI (`python -m w2v_core`) and the
app call it. See docs/ARCHITECTURE.md for which module owns what.
"""

__version__ = "0.1.0"
