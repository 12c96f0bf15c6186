#!/usr/bin/env bash
# The GPU check of issue 11 (benchmarks/gpu_check.py) in one call of the device tool, about 7.5 min.
#
# The device machine's python3 (3.12, torch, numba, numba-cuda, triton, pytest, scipy, nvidia-ml-py)
# lacks gensim (the corpus text, the evaluation files and evaluators) and its smart_open; they travel
# as wheels in .whl/ (ignored through .git/info/exclude). Nothing needs `pip install -e .`: the
# script puts the repository root on sys.path itself, and pytest reads `pythonpath = ["."]`.
#
# Here, once, in the repository root (Python 3.12 wheels for x86-64):
#   echo '/.whl/' >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#     -d .whl gensim==4.4.0 smart_open==9.0.2
# Then the one call (the device tool's `run`):
#   run(command="bash benchmarks/gpu_check.sh", carry=[".whl"], timeout_s=480)
# $OUT/gpu_check.md is the table for docs/BENCHMARKS.md; $OUT/gpu_check.json and gpu_check.log hold
# everything. Here (no GPU): `bash benchmarks/gpu_check.sh --dry-run` runs every step on the CPU.
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
# Without gensim the corpus and the scores fail, but the probe and the CUDA tests still run.
if ! "$PYTHON" -c "import gensim" 2>/dev/null; then
    if compgen -G ".whl/*.whl" >/dev/null &&
        "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/site .whl/*.whl; then
        export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
    fi
    "$PYTHON" -c "import gensim; print('gpu_check: gensim', gensim.__version__, 'from .whl/')" ||
        echo "gpu_check: no gensim: carry its wheels in .whl/ (see the top of this file)"
fi
export PYTHONUNBUFFERED=1
exec "$PYTHON" benchmarks/gpu_check.py --out "${OUT:-benchmarks/results/gpu_check}" "$@"
