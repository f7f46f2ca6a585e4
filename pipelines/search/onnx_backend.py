"""The embedding model run by onnxruntime: exported locally once, optionally int8-quantized, cached under the data dir.

sentence-transformers' own ONNX backend needs ``optimum``, whose releases pin an older
``transformers`` than the one the rest of the project uses; exporting the model's transformer with
``torch.onnx`` and doing the pooling here needs neither. The export is keyed by a fingerprint of the
model folder (file names, sizes, modification times) and the variant, so a changed or different model
is exported again, and the folder is written under a temporary name and renamed, so a killed export
leaves nothing half-written behind. Only the module layouts sentence-transformers uses for bi-encoders
are supported (Transformer, then mean / CLS / max pooling, optionally Normalize); anything else is a
clear error asking for the torch backend.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

TORCH, ONNX, ONNX_INT8 = "torch", "onnx", "onnx-int8"
BACKENDS = (TORCH, ONNX, ONNX_INT8)
# Bump when the exported files change shape, so old caches are not reused.
EXPORT_VERSION = "1"
MODEL_FILE = "model.onnx"
LAYOUT_FILE = "layout.json"
_SUPPORTED_MODULES = {
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
}


class OnnxExportError(RuntimeError):
    """The model cannot be run through onnxruntime (unsupported layout, failed export)."""


def vector_space(model: str, backend: str) -> str:
    """The name of the space a backend's vectors live in: int8 vectors differ from the model's, fp32 ONNX ones do not."""
    return f"{model}#int8" if backend == ONNX_INT8 else model


def fingerprint(model: str, backend: str) -> str:
    """A digest of the model folder's files and the export variant; a new digest means a new export."""
    root = Path(model)
    if not root.is_dir():
        raise OnnxExportError(
            f"the {backend} backend needs a local model folder; {model} is not one (use COURSE_TA_EMBEDDING_BACKEND=torch)"
        )
    entries = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        stat = path.stat()
        entries.append([str(path.relative_to(root)), stat.st_size, stat.st_mtime_ns])
    payload = json.dumps({"model": str(root.resolve()), "files": entries, "backend": backend, "v": EXPORT_VERSION})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def export_dir(model: str, backend: str, cache_root: Path) -> Path:
    """Where the export of ``model`` for ``backend`` lives (or will) under ``cache_root``."""
    return cache_root / f"{Path(model).name or 'model'}-{backend}-{fingerprint(model, backend)}"


def _layout(model: str) -> dict[str, Any]:
    """Pooling mode, normalisation and sequence length, read from the sentence-transformers config files."""
    root = Path(model)
    modules = json.loads((root / "modules.json").read_text(encoding="utf-8")) if (root / "modules.json").exists() else []
    kinds = [m.get("type") for m in modules]
    unsupported = [k for k in kinds if k not in _SUPPORTED_MODULES]
    if not modules or kinds[0] != "sentence_transformers.models.Transformer" or unsupported:
        raise OnnxExportError(f"{model}: only Transformer + Pooling (+ Normalize) models run on ONNX here, not {kinds}")
    pooling = {"pooling_mode_mean_tokens": True}
    for module in modules:
        if module.get("type") == "sentence_transformers.models.Pooling":
            pooling = json.loads((root / module["path"] / "config.json").read_text(encoding="utf-8"))
    modes = [name for name in ("mean", "cls", "max") if pooling.get(f"pooling_mode_{name}_tokens")]
    if len(modes) != 1 or any(pooling.get(k) for k in ("pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens")):
        raise OnnxExportError(f"{model}: pooling {pooling} is not supported on ONNX here")
    config = root / "sentence_bert_config.json"
    max_length = int(json.loads(config.read_text(encoding="utf-8")).get("max_seq_length") or 512) if config.exists() else 512
    normalize = "sentence_transformers.models.Normalize" in kinds
    return {"pooling": modes[0], "normalize": normalize, "max_length": max_length}


def export(model: str, backend: str, cache_root: Path) -> Path:
    """The folder holding ``model`` exported for ``backend`` (exported now if it is not cached yet)."""
    if backend not in (ONNX, ONNX_INT8):
        raise ValueError(f"not an ONNX backend: {backend}")
    target = export_dir(model, backend, cache_root)
    if (target / MODEL_FILE).exists() and (target / LAYOUT_FILE).exists():
        return target
    layout = _layout(model)
    cache_root.mkdir(parents=True, exist_ok=True)
    work = cache_root / f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        logger.info("exporting %s for the %s backend into %s (once per model)", model, backend, target)
        _export_transformer(model, work)
        if backend == ONNX_INT8:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(work / "fp32.onnx"), str(work / MODEL_FILE), weight_type=QuantType.QInt8)
            (work / "fp32.onnx").unlink()
        else:
            (work / "fp32.onnx").rename(work / MODEL_FILE)
        (work / LAYOUT_FILE).write_text(json.dumps({**layout, "model": model, "backend": backend}), encoding="utf-8")
        try:
            os.replace(work, target)
        except OSError:  # another process finished the same export first: use theirs
            if not (target / MODEL_FILE).exists():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _export_transformer(model: str, folder: Path) -> None:
    """The model's transformer as ``fp32.onnx`` (token ids in, last hidden state out) plus its tokenizer files."""
    import torch
    from sentence_transformers import SentenceTransformer

    loaded = SentenceTransformer(model, device="cpu", local_files_only=True)
    first: Any = loaded[0]  # the Transformer module (checked by _layout)
    transformer = first.auto_model.eval()
    tokenizer = first.tokenizer
    sample = tokenizer(["an example sentence to trace", "short"], padding=True, return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class _Hidden(torch.nn.Module):
        """Keyword arguments in, last hidden state out: what the exporter can trace."""

        def __init__(self) -> None:
            super().__init__()
            self.inner = transformer

        def forward(self, *inputs: Any) -> Any:
            return self.inner(**dict(zip(names, inputs, strict=True))).last_hidden_state

    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
    with torch.no_grad():
        torch.onnx.export(
            _Hidden(),
            tuple(sample[n] for n in names),
            str(folder / "fp32.onnx"),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    tokenizer.save_pretrained(str(folder))


@dataclass
class OnnxEncoder:
    """Text to vectors with an exported model: tokenise, run onnxruntime, pool, normalise as the model does."""

    session: Any
    tokenizer: Any
    pooling: str
    normalize: bool
    max_length: int
    inputs: list[str]

    @classmethod
    def load(cls, folder: Path, threads: int = 0) -> OnnxEncoder:
        """Open an export made by :func:`export`; ``threads`` 0 follows torch's thread count (one per serving process)."""
        import onnxruntime as ort
        import torch
        from transformers import AutoTokenizer

        layout = json.loads((folder / LAYOUT_FILE).read_text(encoding="utf-8"))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"])
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        inputs = [i.name for i in session.get_inputs()]
        return cls(session, tokenizer, layout["pooling"], bool(layout["normalize"]), int(layout["max_length"]), inputs)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """One float32 row per text, in the given order; batches are cut from texts sorted by length (less padding)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        rows: list[np.ndarray] = [np.empty(0)] * len(texts)
        for begin in range(0, len(order), batch_size):
            batch = order[begin : begin + batch_size]
            encoded = self.tokenizer(
                [texts[i] for i in batch], padding=True, truncation=True, max_length=self.max_length, return_tensors="np"
            )
            feed = {name: encoded[name].astype(np.int64) for name in self.inputs}
            hidden = self.session.run(None, feed)[0]
            vectors = self._pool(hidden, encoded["attention_mask"])
            for position, index in enumerate(batch):
                rows[index] = vectors[position]
        return np.stack(rows).astype(np.float32)

    def encode_tokens(self, texts: list[str], batch_size: int = 64) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per text, in the given order: its vector (as :meth:`encode`), its tokens' hidden states and their character spans.

        Padding is dropped; special tokens keep an empty span. Used to pool sentences out of a chunk's pass.
        """
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        rows: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = [None] * len(texts)
        for begin in range(0, len(order), batch_size):
            batch = order[begin : begin + batch_size]
            encoded = self.tokenizer(
                [texts[i] for i in batch],
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="np",
                return_offsets_mapping=True,
            )
            feed = {name: encoded[name].astype(np.int64) for name in self.inputs}
            hidden = self.session.run(None, feed)[0]
            vectors = self._pool(hidden, encoded["attention_mask"])
            for position, index in enumerate(batch):
                real = encoded["attention_mask"][position] > 0
                rows[index] = (
                    vectors[position].astype(np.float32),
                    hidden[position][real].astype(np.float32),
                    encoded["offset_mapping"][position][real].astype(np.int64),
                )
        return [row for row in rows if row is not None]

    def _pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        elif self.pooling == "max":
            pooled = np.where(mask[..., None] > 0, hidden, -1e9).max(axis=1)
        else:
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        if self.normalize:
            pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled


_encoders: dict[tuple[str, str, int], OnnxEncoder] = {}
_encoders_lock = threading.Lock()


def shared_encoder(model: str, backend: str, cache_root: Path, threads: int = 0) -> OnnxEncoder:
    """One encoder per (model, backend) per process, shared by the document and text embedders like Haystack's factory does."""
    key = (model, backend, threads)
    with _encoders_lock:
        encoder = _encoders.get(key)
        if encoder is None:
            encoder = OnnxEncoder.load(export(model, backend, cache_root), threads)
            _encoders[key] = encoder
        return encoder
