"""Run folder: one folder per training run holding everything needed to inspect or rebuild it.

Layout (the app and the CLI share it)::

    RUN_DIR/
      run.json                      settings, data description, seed, device, versions, status, times
      vocab.tsv                     word<TAB>count, id order
      corpus.npz                    the encoded corpus (plain arrays), so a run can be resumed
      metrics.jsonl                 one JSON object per progress report / finished epoch
      checkpoints/epoch_NNN.safetensors + epoch_NNN.json   after every complete epoch (1-based)
      checkpoints/stopped.safetensors + stopped.json       where a stop request left the vectors
      STOP                          present while a stop has been requested

Every file is written atomically. Checkpoints are safetensors (never pickle) with a JSON sidecar; the
sidecar is written last, so a checkpoint without one is incomplete and ignored.
Owns: this layout, reading and writing it, run status. Leaves out: what the tensors mean
(`w2v_core.embeddings`) and when to write them (`w2v_core.trainer`).
"""

from __future__ import annotations

import json
import os
import platform
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from w2v_core.config import TrainConfig
from w2v_core.corpus import EncodedCorpus
from w2v_core.errors import RunFolderError
from w2v_core.io_utils import atomic_write, atomic_write_json, read_json
from w2v_core.vocab import Vocabulary

if TYPE_CHECKING:
    import torch

# torch and safetensors are imported where checkpoints are read or written, not at module import:
# the app's pages list runs and read metrics without paying torch's import time (~1 s).

RunStatus = Literal["created", "running", "stopped", "finished", "failed"]
FORMAT_VERSION = 1
STOPPED = "stopped"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def library_versions() -> dict[str, str]:
    import numpy
    import torch

    versions = {"python": platform.python_version(), "torch": torch.__version__}
    versions["numpy"] = numpy.__version__
    try:
        import numba

        versions["numba"] = numba.__version__
    except ImportError:  # numba is optional for the batched engine
        pass
    from w2v_core import __version__

    versions["w2v_core"] = __version__
    return versions


class RunFolder:
    """Read and write one run folder."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    # ---- paths --------------------------------------------------------------------------------
    @property
    def run_json(self) -> Path:
        return self.path / "run.json"

    @property
    def vocab_tsv(self) -> Path:
        return self.path / "vocab.tsv"

    @property
    def corpus_npz(self) -> Path:
        return self.path / "corpus.npz"

    @property
    def metrics_jsonl(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def stop_file(self) -> Path:
        return self.path / "STOP"

    # ---- creation / opening -------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        path: str | Path,
        config: TrainConfig,
        vocab: Vocabulary,
        corpus: EncodedCorpus,
        data: dict[str, Any] | None = None,
        name: str | None = None,
    ) -> RunFolder:
        """Start a new run folder; refuses a folder that already holds a run."""
        run = cls(path)
        if run.run_json.exists():
            raise RunFolderError(
                f"'{run.path}' already holds a run. Choose a new output folder, or resume that run."
            )
        run.path.mkdir(parents=True, exist_ok=True)
        run.checkpoint_dir.mkdir(exist_ok=True)
        vocab.save_tsv(run.vocab_tsv)
        corpus.save(run.corpus_npz)
        info = {
            "format_version": FORMAT_VERSION,
            "name": name or run.path.name,
            "status": "created",
            "error": None,
            "created_at": now_iso(),
            "updated_at": now_iso(),
            "finished_at": None,
            "config": config.to_dict(),
            "data": data or {},
            "vocab_size": len(vocab),
            "n_tokens": corpus.n_tokens,
            "n_documents": corpus.n_documents,
            "device": None,
            "engine": None,
            "epochs_completed": 0,
            "library_versions": library_versions(),
            "host": {"platform": platform.platform(), "cpu_count": os.cpu_count()},
        }
        atomic_write_json(run.run_json, info)
        return run

    @classmethod
    def open(cls, path: str | Path) -> RunFolder:
        run = cls(path)
        if not run.run_json.is_file():
            raise RunFolderError(f"'{run.path}' is not a run folder (it has no run.json).")
        return run

    # ---- run.json ------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        try:
            return read_json(self.run_json)
        except (OSError, json.JSONDecodeError) as error:
            raise RunFolderError(f"Cannot read '{self.run_json}': {error}") from error

    def update(self, **fields: Any) -> dict[str, Any]:
        info = self.info()
        info.update(fields)
        info["updated_at"] = now_iso()
        atomic_write_json(self.run_json, info)
        return info

    def set_status(self, status: RunStatus, error: str | None = None, **fields: Any) -> None:
        extra: dict[str, Any] = {"status": status, "error": error, **fields}
        if status in ("finished", "stopped", "failed"):
            extra["finished_at"] = now_iso()
        self.update(**extra)

    def config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.info()["config"])

    def vocab(self) -> Vocabulary:
        if not self.vocab_tsv.is_file():
            raise RunFolderError(f"'{self.path}' has no vocab.tsv.")
        return Vocabulary.load_tsv(self.vocab_tsv)

    def corpus(self) -> EncodedCorpus:
        if not self.corpus_npz.is_file():
            raise RunFolderError(f"'{self.path}' has no corpus.npz, so it cannot be resumed.")
        return EncodedCorpus.load(self.corpus_npz)

    # ---- metrics ------------------------------------------------------------------------------
    def append_metrics(self, record: dict[str, Any]) -> None:
        """Append one JSON line. A line is written whole with one write call."""
        line = json.dumps(record, ensure_ascii=False, default=float) + "\n"
        with open(self.metrics_jsonl, "a", encoding="utf-8") as handle:
            handle.write(line)

    def read_metrics(self) -> list[dict[str, Any]]:
        """All complete metric records; a torn last line (writer mid-append) is skipped."""
        if not self.metrics_jsonl.is_file():
            return []
        records = []
        with open(self.metrics_jsonl, encoding="utf-8") as handle:
            for line in handle:
                if not line.endswith("\n"):
                    break
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return records

    def truncate_metrics_after_epoch(self, epoch: int) -> None:
        """Drop records of epochs after `epoch` (1-based, complete), used when resuming."""
        kept = [r for r in self.read_metrics() if int(r.get("epoch", 0)) <= epoch]
        text = "".join(json.dumps(r, ensure_ascii=False, default=float) + "\n" for r in kept)
        from w2v_core.io_utils import atomic_write_text

        atomic_write_text(self.metrics_jsonl, text)

    # ---- checkpoints --------------------------------------------------------------------------
    @staticmethod
    def checkpoint_label(epoch: int | str) -> str:
        return STOPPED if epoch == STOPPED else f"epoch_{int(epoch):03d}"

    def save_checkpoint(
        self, epoch: int | str, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
    ) -> Path:
        """Write `checkpoints/<label>.safetensors`, then its JSON sidecar (which marks it complete)."""
        from safetensors.torch import save_file

        label = self.checkpoint_label(epoch)
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        target = self.checkpoint_dir / f"{label}.safetensors"
        contiguous = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
        atomic_write(target, lambda temp: save_file(contiguous, str(temp)))
        sidecar = {"label": label, "saved_at": now_iso(), "tensors": sorted(contiguous), **meta}
        atomic_write_json(self.checkpoint_dir / f"{label}.json", sidecar)
        return target

    def checkpoint_epochs(self) -> list[int]:
        """Complete epochs with a checkpoint, ascending (1-based)."""
        epochs = []
        for sidecar in self.checkpoint_dir.glob("epoch_*.json"):
            stem = sidecar.stem.removeprefix("epoch_")
            if stem.isdigit() and (self.checkpoint_dir / f"{sidecar.stem}.safetensors").is_file():
                epochs.append(int(stem))
        return sorted(epochs)

    def remove_checkpoint(self, epoch: int | str) -> None:
        """Delete a checkpoint, sidecar first (so a half-deleted one is never taken as complete)."""
        label = self.checkpoint_label(epoch)
        (self.checkpoint_dir / f"{label}.json").unlink(missing_ok=True)
        (self.checkpoint_dir / f"{label}.safetensors").unlink(missing_ok=True)

    def has_stopped_checkpoint(self) -> bool:
        return (self.checkpoint_dir / f"{STOPPED}.json").is_file()

    def checkpoint_meta(self, epoch: int | str) -> dict[str, Any]:
        return read_json(self.checkpoint_dir / f"{self.checkpoint_label(epoch)}.json")

    def load_checkpoint(
        self, epoch: int | str, names: list[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """Tensors of a checkpoint (all, or only `names`), on CPU."""
        label = self.checkpoint_label(epoch)
        path = self.checkpoint_dir / f"{label}.safetensors"
        if not (self.checkpoint_dir / f"{label}.json").is_file() or not path.is_file():
            available = ", ".join(str(e) for e in self.checkpoint_epochs()) or "none"
            raise RunFolderError(
                f"Run '{self.path.name}' has no checkpoint '{label}' (epochs saved: {available})."
            )
        from safetensors import safe_open

        with safe_open(str(path), framework="pt", device="cpu") as handle:
            available = list(handle.keys())
            wanted = available if names is None else [k for k in available if k in names]
            return {name: handle.get_tensor(name) for name in wanted}

    def latest_checkpoint(self) -> int | str | None:
        """The newest vectors: the stopped checkpoint if there is one (the trainer deletes it once a
        later epoch completes, so it is always the newest), else the last complete epoch, else None."""
        if self.has_stopped_checkpoint():
            return STOPPED
        epochs = self.checkpoint_epochs()
        return epochs[-1] if epochs else None

    # ---- stop requests ------------------------------------------------------------------------
    def request_stop(self) -> None:
        self.stop_file.write_text(str(time.time()), encoding="utf-8")

    def stop_requested(self) -> bool:
        return self.stop_file.exists()

    def clear_stop_request(self) -> None:
        self.stop_file.unlink(missing_ok=True)


def list_runs(root: str | Path) -> list[RunFolder]:
    """Run folders directly under `root`, newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = [RunFolder(p) for p in root.iterdir() if (p / "run.json").is_file()]
    return sorted(runs, key=lambda r: r.run_json.stat().st_mtime, reverse=True)
