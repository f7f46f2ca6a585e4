"""COURSE_TA_EMBEDDING_BACKEND: the bundled model exported to ONNX here, cached, re-exported when the model changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from haystack import Document

from pipelines.search import onnx_backend
from pipelines.search.embedders import OnnxDocumentEmbedder, OnnxTextEmbedder, document_embedder, embedding_space, text_embedder
from pipelines.settings import SettingsError, bundled_embedding_model, load_settings

TEXTS = ["What does the tokenizer do with unknown words?", "Gradient descent", "A much longer sentence " * 20]


def _torch_vectors(texts: list[str]) -> np.ndarray:
    embedder = document_embedder(load_settings(embedding_backend="torch"), with_title=False)
    embedder.warm_up()
    return np.asarray([d.embedding for d in embedder.run(documents=[Document(content=t) for t in texts])["documents"]])


def test_the_backend_setting_is_validated() -> None:
    assert load_settings().embedding_backend == "torch"
    with pytest.raises(SettingsError, match="COURSE_TA_EMBEDDING_BACKEND"):
        load_settings(embedding_backend="tensorrt")


@pytest.mark.timeout(600)
def test_onnx_backends_export_the_bundled_model_once_and_embed_like_torch(tmp_path: Path) -> None:
    reference = _torch_vectors(TEXTS)
    # int8 quantizes activations per batch, so a text's vector depends a little on its batch mates.
    for backend, floor, alone in (("onnx", 0.9999, 0.9999), ("onnx-int8", 0.9, 0.98)):
        settings = load_settings(data_dir=tmp_path / "data", embedding_backend=backend)
        documents = document_embedder(settings, with_title=False)
        question = text_embedder(settings)
        assert isinstance(documents, OnnxDocumentEmbedder) and isinstance(question, OnnxTextEmbedder)
        documents.warm_up()
        folder = onnx_backend.export_dir(settings.embedding_model, backend, tmp_path / "data" / "models" / "onnx")
        assert (folder / onnx_backend.MODEL_FILE).is_file()
        vectors = np.asarray([d.embedding for d in documents.run(documents=[Document(content=t) for t in TEXTS])["documents"]])
        assert np.min(np.sum(vectors * reference, axis=1)) > floor
        single = np.asarray(question.run(text=TEXTS[0])["embedding"])
        assert float(single @ vectors[0]) > alone  # question and documents share one model and normalisation
        rebuilt = OnnxDocumentEmbedder.from_dict(documents.to_dict())
        assert rebuilt.to_dict() == documents.to_dict()
        stamp = (folder / onnx_backend.MODEL_FILE).stat().st_mtime_ns
        assert onnx_backend.export(settings.embedding_model, backend, tmp_path / "data" / "models" / "onnx") == folder
        assert (folder / onnx_backend.MODEL_FILE).stat().st_mtime_ns == stamp  # cached, not exported again
    assert embedding_space(load_settings(embedding_backend="onnx")) == bundled_embedding_model()
    assert embedding_space(load_settings(embedding_backend="onnx-int8")) != bundled_embedding_model()


def test_a_changed_model_folder_gets_a_new_export_and_unsupported_models_are_refused(tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(bundled_embedding_model(), model)
    before = onnx_backend.export_dir(str(model), "onnx", tmp_path / "cache")
    (model / "config_sentence_transformers.json").write_text((model / "config_sentence_transformers.json").read_text() + "\n")
    assert onnx_backend.export_dir(str(model), "onnx", tmp_path / "cache") != before
    assert onnx_backend.export_dir(str(model), "onnx-int8", tmp_path / "cache") != onnx_backend.export_dir(
        str(model), "onnx", tmp_path / "cache"
    )
    (model / "modules.json").write_text('[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Dense"}]')
    with pytest.raises(onnx_backend.OnnxExportError, match="only Transformer"):
        onnx_backend.export(str(model), "onnx", tmp_path / "cache")
    assert not any((tmp_path / "cache").glob("*/model.onnx"))  # nothing half-written left behind
    with pytest.raises(onnx_backend.OnnxExportError, match="local model folder"):
        onnx_backend.export("sentence-transformers/not-here", "onnx", tmp_path / "cache")
