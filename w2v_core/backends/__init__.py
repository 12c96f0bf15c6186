"""Training engines: the code that turns corpus + settings into updated vectors, one epoch at a time.

`base` defines the interface the trainer drives; `fused_cuda` and `fused_cpu` are the compiled
word2vec.c-style kernels (SGD + negative sampling on an NVIDIA GPU and on the CPU, the fast paths);
`batched_torch` is the batched PyTorch engine for every other combination and for GPUs (CUDA, MPS).

This module is the engine registry: `ENGINES` maps each name (the values of `TrainConfig.engine`
besides "auto") to where its class lives; every class has `name` and `supports(config, device)`.
Adding an engine means writing its class and adding one line here. Classes are imported on first use,
so a machine without numba still trains with the PyTorch engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from w2v_core.config import ENGINE_CHOICES, TrainConfig
from w2v_core.errors import ConfigError

if TYPE_CHECKING:
    import torch

    from w2v_core.backends.base import TrainingEngine

# In order of preference for "auto": the first engine that supports the settings trains them.
ENGINES: dict[str, str] = {
    "fused-cuda": "w2v_core.backends.fused_cuda:FusedCudaEngine",
    "fused-cpu": "w2v_core.backends.fused_cpu:FusedCpuEngine",
    "fused-adam-cpu": "w2v_core.backends.fused_adam_cpu:FusedAdamCpuEngine",
    "softmax-torch": "w2v_core.backends.softmax_torch:SoftmaxTorchEngine",
    "batched-torch": "w2v_core.backends.batched_torch:BatchedTorchEngine",
}
assert tuple(ENGINES) == ENGINE_CHOICES[1:], "TrainConfig.engine's choices and the registry differ"


def engine_class(name: str) -> type[TrainingEngine] | None:
    """The class registered as `name`; None when it cannot be imported here (numba missing)."""
    module_name, _, class_name = ENGINES[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return getattr(module, class_name)


def select_engine(config: TrainConfig, device: torch.device) -> type[TrainingEngine]:
    """The engine class that trains `config` on `device`: the one asked for, or for "auto" the first
    registered one that supports the settings."""
    if config.engine != "auto":
        cls = engine_class(config.engine)
        if cls is None or not cls.supports(config, device):
            others = [n for n in ENGINES if n != config.engine]
            scope = getattr(cls, "applies_to", "SGD with negative sampling on the CPU only")
            raise ConfigError(
                f"The {config.engine} engine cannot train these settings on {device.type} "
                f"(it handles {scope}); choose engine 'auto' (or {', '.join(others)})."
            )
        return cls
    for name in ENGINES:
        cls = engine_class(name)
        if cls is not None and cls.supports(config, device):
            return cls
    raise ConfigError(f"No training engine supports these settings on {device.type}.")
