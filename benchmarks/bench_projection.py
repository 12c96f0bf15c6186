"""Time the 2D maps (UMAP, PCA, t-SNE) and a neighbour query on synthetic word vectors.

Run: python benchmarks/bench_projection.py [--words 5000] [--dim 100] [--tsne]
Prints one line per figure plus the machine and its load; docs/benchmarks/projection.md records them.

The vectors are a mixture of 50 Gaussian clusters in `dim` dimensions (word vectors have such topic
structure; structureless noise would give UMAP an unusually hard neighbour graph). UMAP is timed twice
in this fresh process: the first fit includes numba's compilation (what the first map after starting
the app costs), the second is what every later map costs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere, no install


def clustered_vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((50, dim))
    labels = rng.integers(0, 50, size=n)
    return (centres[labels] + 0.6 * rng.standard_normal((n, dim))).astype(np.float32)  # (n, dim)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def timed(label: str, function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    seconds = time.perf_counter() - start
    print(f"{label:<44} {seconds:8.3f} s", flush=True)
    return result, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=5000)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--tsne", action="store_true", help="also time t-SNE (slow)")
    parser.add_argument("--warm-up", action="store_true", help="call warm_up_umap() first")
    args = parser.parse_args()

    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"load average before: {os.getloadavg()}")
    vectors = clustered_vectors(args.words, args.dim)

    start = time.perf_counter()
    import umap  # noqa: F401  (import cost is part of the first map)

    print(f"{'import umap':<44} {time.perf_counter() - start:8.3f} s")
    from w2v_core.embeddings import Embeddings
    from w2v_core.projection import kmeans_clusters, project_2d, warm_up_umap

    if args.warm_up:
        timed("warm_up_umap() (compiles numba code)", warm_up_umap)

    n, d = args.words, args.dim
    timed(f"PCA {n} x {d} (first call, imports sklearn)", project_2d, vectors, "pca")
    pca_times = [timed(f"PCA {n} x {d}", project_2d, vectors, "pca")[1] for _ in range(3)]
    cold = "first in process" if args.warm_up else "cold: numba compiles"
    timed(f"UMAP {n} x {d} ({cold})", project_2d, vectors, "umap", seed=0)
    umap_times = [
        timed(f"UMAP {n} x {d} (warm)", project_2d, vectors, "umap", seed=s)[1] for s in (1, 2)
    ]
    timed(f"k-means k=10 on {n} x {d}", kmeans_clusters, vectors, 10)
    if args.tsne:
        timed(f"t-SNE {n} x {d}", project_2d, vectors, "tsne")

    big = Embeddings([f"w{i}" for i in range(50_000)], clustered_vectors(50_000, 100, seed=1))
    big.most_similar("w0")  # builds the cached unit matrix once
    query_times = []
    for i in range(50):
        start = time.perf_counter()
        big.most_similar(f"w{i}", k=10)
        query_times.append(time.perf_counter() - start)
    print(
        f"{'most_similar k=10 on 50,000 x 100 (median)':<44} {statistics.median(query_times) * 1000:8.1f} ms"
    )

    print(
        f"PCA median {statistics.median(pca_times):.3f} s; UMAP warm mean {statistics.mean(umap_times):.2f} s"
    )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
