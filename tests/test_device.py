"""Tests of w2v_core.device: why CUDA cannot be used, device failures as one sentence, and the
command line's one-line answer when CUDA is asked for on a machine without it. Each situation a GPU
machine could be in (CPU-only torch, no driver, a driver older than torch's CUDA, no visible GPU,
out of memory) is staged by replacing what torch reports."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from app_support import cli

from w2v_core import device as device_module
from w2v_core.device import (
    count_torch_syncs,
    cuda_unavailable_reason,
    describe_device,
    device_errors,
    is_out_of_memory,
    resolve_device,
)
from w2v_core.errors import ConfigError, DeviceError, DeviceMemoryError


@pytest.fixture()
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    return monkeypatch


def test_cuda_on_a_cpu_only_torch_says_so(no_gpu):
    no_gpu.setattr(torch.version, "cuda", None)
    with pytest.raises(ConfigError, match="CPU-only build") as caught:
        resolve_device("cuda")
    assert "\n" not in str(caught.value)


def test_a_cuda_build_that_cannot_start_names_the_driver_problem(no_gpu):
    no_gpu.setattr(torch.version, "cuda", "12.4")

    def failing_init() -> None:
        raise RuntimeError(
            "The NVIDIA driver on your system is too old (found version 11040).\nPlease update."
        )

    no_gpu.setattr(torch.cuda, "init", failing_init)
    reason = cuda_unavailable_reason()
    assert "built for CUDA 12.4" in reason
    assert "The NVIDIA driver on your system is too old (found version 11040)." in reason
    assert "nvidia-smi" in reason and "\n" not in reason


def test_a_cuda_build_that_sees_no_gpu_names_cuda_visible_devices(no_gpu):
    no_gpu.setattr(torch.version, "cuda", "12.4")
    no_gpu.setattr(torch.cuda, "init", lambda: None)
    no_gpu.setenv("CUDA_VISIBLE_DEVICES", "")
    assert "sees no GPU (CUDA_VISIBLE_DEVICES is '')" in cuda_unavailable_reason()


def test_auto_falls_back_to_the_cpu_without_a_gpu(no_gpu):
    no_gpu.setattr(device_module, "mps_available", lambda: False)
    assert resolve_device("auto").type == "cpu"
    assert describe_device("cpu", threads=2) == "CPU, 2 cores"


def test_the_gpu_is_named_with_its_memory(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA H200")

    class Properties:
        total_memory = 150_000_000_000

    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device=None: Properties())
    assert describe_device("cuda") == "NVIDIA H200 (CUDA, 150 GB)"


def test_out_of_memory_from_torch_says_what_a_step_needed_and_what_to_shrink():
    oom = torch.cuda.OutOfMemoryError(
        "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79 GiB"
    )
    assert is_out_of_memory(oom)
    with (
        pytest.raises(DeviceMemoryError) as caught,
        device_errors(torch.device("cuda"), None, "a smaller batch size (for example 512)"),
    ):
        raise oom
    message = str(caught.value)
    assert "ran out of memory: one step needed 2.1 GB more" in message  # 2 GiB = 2.15e9 bytes
    assert message.endswith("try a smaller batch size (for example 512).")
    assert "\n" not in message


def test_out_of_memory_from_numba_says_how_much_training_needs():
    error = RuntimeError("[CUDA_ERROR_OUT_OF_MEMORY] Call to cuMemAlloc results in OUT_OF_MEMORY")
    with (
        pytest.raises(DeviceMemoryError, match="training needs about 3.2 GB"),
        device_errors(torch.device("cuda"), 3_200_000_000, "a smaller vector size (dim)"),
    ):
        raise error


def test_a_cuda_start_failure_becomes_a_device_error():
    expected = "The GPU could not be used: CUDA driver initialization"
    with pytest.raises(DeviceError, match=expected), device_errors(torch.device("cuda")):
        raise RuntimeError("CUDA driver initialization failed, you might not have a CUDA gpu.")


def test_other_errors_pass_through_unchanged():
    with pytest.raises(ValueError, match="a bug"), device_errors(torch.device("cuda")):
        raise ValueError("a bug")


def test_syncs_are_not_counted_without_cuda(no_gpu):
    with count_torch_syncs() as syncs:
        torch.ones(3).sum().item()
    assert syncs.count is None


def test_cli_asked_for_cuda_without_one_answers_in_one_line(tmp_path: Path, lee_corpus_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    out = tmp_path / "run"
    done = cli("train", "--corpus", str(lee_corpus_path), "--out", str(out), "--device", "cuda")
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: No CUDA GPU can be used:"), done.stderr
    assert not out.exists()  # nothing written: the check comes before the run folder


def test_cli_asked_for_the_gpu_engine_without_a_gpu_answers_before_writing(
    tmp_path: Path, lee_corpus_path
):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    out = tmp_path / "run"
    done = cli(
        "train", "--corpus", str(lee_corpus_path), "--out", str(out), "--engine", "fused-cuda"
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "on an NVIDIA GPU that numba-cuda can use" in lines[0], done.stderr
    assert not out.exists()  # no run folder that could only fail again
