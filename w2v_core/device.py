"""Which device trains: resolving `auto` (CUDA, then Apple MPS, then CPU) and describing it to people.

Owns: device choice and its human description. Leaves out: which engine runs there (`w2v_core.trainer`).
"""

from __future__ import annotations

import os

import torch

from w2v_core.config import DeviceChoice
from w2v_core.errors import ConfigError


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list[str]:
    """Device choices that can work on this machine, 'auto' first."""
    choices = ["auto", "cpu"]
    if torch.cuda.is_available():
        choices.append("cuda")
    if mps_available():
        choices.append("mps")
    return choices


def resolve_device(choice: DeviceChoice | str = "auto") -> torch.device:
    """Turn a user's choice into a torch device; an unavailable explicit choice is a ConfigError."""
    if choice == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if choice == "cpu":
        return torch.device("cpu")
    if choice == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("No CUDA GPU is available on this machine; choose 'auto' or 'cpu'.")
        return torch.device("cuda")
    if choice == "mps":
        if not mps_available():
            raise ConfigError("Apple MPS is not available on this machine; choose 'auto' or 'cpu'.")
        return torch.device("mps")
    raise ConfigError(f"Unknown device '{choice}': choose auto, cpu, cuda or mps.")


def describe_device(device: torch.device | str | None = None, threads: int | None = None) -> str:
    """A person-readable name: 'NVIDIA H100 80GB HBM3 (CUDA)', 'Apple GPU (MPS)' or 'CPU, 2 cores'."""
    device = resolve_device("auto") if device is None else torch.device(device)
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA)"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    cores = threads or os.cpu_count() or 1
    return f"CPU, {cores} core{'s' if cores != 1 else ''}"
