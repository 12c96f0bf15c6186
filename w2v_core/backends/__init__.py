"""Training engines: the code that turns corpus + settings into updated vectors, one epoch at a time.

`base` defines the interface the trainer drives; `fused_cpu` is the compiled word2vec.c-style kernel
(SGD + negative sampling on CPU, the fast path); `batched_torch` is the batched PyTorch engine for every
other combination and for GPUs (CUDA, MPS).
"""
