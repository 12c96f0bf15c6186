"""Which device trains: resolving `auto` (CUDA, then Apple MPS, then CPU) and describing it to people.

Owns: device choice, its human description (the GPU's name), why a GPU cannot be used (no CUDA build,
no driver, a driver that does not match), turning device failures (out of memory, a failed CUDA start)
into one plain sentence (`device_errors`), and counting the host synchronisations torch makes on a GPU
(`count_torch_syncs`). Leaves out: which engine runs there (`w2v_core.backends`).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from w2v_core.config import DeviceChoice
from w2v_core.errors import ConfigError, DeviceError, DeviceMemoryError, W2VError


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


def cuda_unavailable_reason() -> str:
    """One sentence saying why CUDA cannot be used here (call when `torch.cuda.is_available()` is
    False): a CPU-only PyTorch, a CUDA build whose start fails (no driver, a driver older than the
    build), or a build that starts but sees no GPU."""
    built_for = torch.version.cuda
    if not built_for:
        return (
            "This PyTorch is a CPU-only build, so it cannot use a CUDA GPU; choose device 'auto' or "
            "'cpu' (or install a CUDA build of PyTorch)."
        )
    try:
        torch.cuda.init()
    except Exception as error:  # noqa: BLE001 - whatever CUDA says is the reason to show
        return (
            f"PyTorch (built for CUDA {built_for}) cannot start CUDA: {_first_line(error)} "
            "Check that the NVIDIA driver is installed and supports this CUDA version (nvidia-smi "
            "shows it), or choose device 'cpu'."
        )
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    hidden = f" (CUDA_VISIBLE_DEVICES is '{visible}')" if visible is not None else ""
    return (
        f"PyTorch (built for CUDA {built_for}) sees no GPU{hidden}; choose device 'auto' or 'cpu'."
    )


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
            raise ConfigError(f"No CUDA GPU can be used: {cuda_unavailable_reason()}")
        return torch.device("cuda")
    if choice == "mps":
        if not mps_available():
            raise ConfigError("Apple MPS is not available on this machine; choose 'auto' or 'cpu'.")
        return torch.device("mps")
    raise ConfigError(f"Unknown device '{choice}': choose auto, cpu, cuda or mps.")


def describe_device(device: torch.device | str | None = None, threads: int | None = None) -> str:
    """A person-readable name: 'NVIDIA H200 (CUDA, 141 GB)', 'Apple GPU (MPS)' or 'CPU, 2 cores'."""
    device = resolve_device("auto") if device is None else torch.device(device)
    if device.type == "cuda":
        try:
            name = torch.cuda.get_device_name(device)
            memory = torch.cuda.get_device_properties(device).total_memory
        except Exception as error:  # noqa: BLE001 - a label must not stop anything
            return f"CUDA GPU (its name could not be read: {_first_line(error)})"
        return f"{name} (CUDA, {memory / 1e9:.0f} GB)"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    cores = threads or os.cpu_count() or 1
    return f"CPU, {cores} core{'s' if cores != 1 else ''}"


# ---- device failures as one sentence ------------------------------------------------------------------
def is_out_of_memory(error: BaseException) -> bool:
    """torch's OutOfMemoryError, or a CUDA error that says out of memory (numba's CudaAPIError
    CUDA_ERROR_OUT_OF_MEMORY, torch's 'CUDA error: out of memory')."""
    oom_type = getattr(torch.cuda, "OutOfMemoryError", None)
    if oom_type is not None and isinstance(error, oom_type):
        return True
    text = str(error).lower()
    return "out of memory" in text or "out_of_memory" in text


def _is_cuda_start_error(error: BaseException) -> bool:
    """A failure to start CUDA (driver missing or too old, initialisation failed)."""
    text = str(error).lower()
    return ("cuda" in text or "nvidia" in text) and (
        "driver" in text or "initializ" in text or "init" in text.split()
    )


def _gigabytes(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:.1f} GB" if n_bytes >= 1e8 else f"{n_bytes / 1e6:.0f} MB"


_TRIED = re.compile(r"tried to allocate ([0-9.]+) (b|kib|mib|gib|tib)", re.IGNORECASE)
_UNITS = {"b": 1, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def out_of_memory_message(
    device: torch.device, needed_bytes: int | None, smaller: str, error: BaseException
) -> str:
    """'The GPU (NVIDIA H200) ran out of memory: this needs about 3.2 GB more and 1.0 GB is free; try
    a smaller batch size (512).' The need comes from the caller's estimate, or torch's message."""
    name = describe_device(device).split(" (")[0] if device.type == "cuda" else device.type
    need = ""
    tried = _TRIED.search(str(error))
    if needed_bytes:
        need = f"training needs about {_gigabytes(needed_bytes)}"
    elif tried:
        amount = float(tried.group(1)) * _UNITS[tried.group(2).lower()]
        need = f"one step needed {_gigabytes(amount)} more"
    free = ""
    if device.type == "cuda":
        try:
            free_bytes, total_bytes = torch.cuda.mem_get_info(device)
            free = f" of which {_gigabytes(free_bytes)} of {_gigabytes(total_bytes)} is free"
        except Exception:  # noqa: BLE001 - the message goes out without it
            free = ""
    detail = f": {need}{free}" if need else ""
    return f"The GPU ({name}) ran out of memory{detail}; try {smaller}."


@contextmanager
def device_errors(
    device: torch.device, needed_bytes: int | None = None, smaller: str = "a smaller batch size"
) -> Iterator[None]:
    """Turn an out-of-memory or CUDA start failure inside the block into one plain sentence:
    `DeviceMemoryError` (how much was needed, what to shrink) or `DeviceError`. Anything else, and
    every `W2VError`, passes through unchanged."""
    try:
        yield
    except W2VError:
        raise
    except Exception as error:
        if is_out_of_memory(error):
            if device.type == "cuda":
                torch.cuda.empty_cache()  # give the memory back before the message is shown
            raise DeviceMemoryError(
                out_of_memory_message(device, needed_bytes, smaller, error)
            ) from error
        if _is_cuda_start_error(error):
            raise DeviceError(
                f"The GPU could not be used: {_first_line(error)} Check the NVIDIA driver "
                f"(nvidia-smi) against this PyTorch's CUDA {torch.version.cuda}, or choose device "
                "'cpu'."
            ) from error
        raise


# ---- counting syncs ---------------------------------------------------------------------------------
@dataclass
class SyncCount:
    """How many times torch synchronised the host with the GPU inside a `count_torch_syncs` block;
    None where torch cannot tell (no CUDA)."""

    count: int | None = None


@contextmanager
def count_torch_syncs() -> Iterator[SyncCount]:
    """Count torch's host synchronisations in the block through `torch.cuda.set_sync_debug_mode`
    ('warn' makes every synchronising CUDA call warn; the warnings are counted, not shown). Kernels
    launched by numba are not torch calls and are not seen. On a machine without CUDA the count
    stays None."""
    result = SyncCount()
    if not torch.cuda.is_available() or not hasattr(torch.cuda, "set_sync_debug_mode"):
        yield result
        return
    previous = torch.cuda.get_sync_debug_mode()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            yield result
        finally:
            torch.cuda.set_sync_debug_mode(previous)
            result.count = sum("synchroniz" in str(w.message).lower() for w in caught)


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    line = lines[0].strip() if lines else type(error).__name__
    return line if line.endswith(".") else line + "."
