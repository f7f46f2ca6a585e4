"""A packaged model split into zip parts becomes a usable embedding model, and damaged parts are refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from bot.cli.main import main
from pipelines.search.embedders import text_embedder
from pipelines.search.model_archives import MARKER, ModelArchiveError, assemble, ordered_parts
from pipelines.settings import bundled_embedding_model, load_settings

NAME = "tiny-model"


@pytest.fixture(scope="module")
def tiny_model_zip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real (tiny, random-weight) sentence-transformers model zipped under one top folder, like the packaged ones."""
    from sentence_transformers import SentenceTransformer, models
    from transformers import AutoTokenizer, BertConfig, BertModel

    root = tmp_path_factory.mktemp("tiny")
    tokenizer = AutoTokenizer.from_pretrained(bundled_embedding_model())
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    BertModel(config).save_pretrained(root / "hf")
    tokenizer.save_pretrained(root / "hf")
    model = SentenceTransformer(modules=[models.Transformer(str(root / "hf")), models.Pooling(32)], device="cpu")
    model.save(str(root / "st"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((root / "st").rglob("*")):
            if path.is_file():
                archive.write(path, f"{NAME}/{path.relative_to(root / 'st').as_posix()}")
        archive.writestr(f"{NAME}/desktop.ini", "[.ShellClassInfo]")  # packaging junk the assembly drops
    return buffer.getvalue()


def split_into_packages(data: bytes, where: Path, parts: int = 3) -> list[Path]:
    """Lay the zip out as the part packages do: ``NAME-pypi-part_00N/input/NAME.zip.00N``."""
    size = -(-len(data) // parts)
    paths = []
    for number in range(1, parts + 1):
        path = where / f"{NAME}-pypi-part_{number:03d}" / "input" / f"{NAME}.zip.{number:03d}"
        path.parent.mkdir(parents=True)
        path.write_bytes(data[(number - 1) * size : number * size])
        paths.append(path)
    return paths


@pytest.mark.timeout(300)
def test_assembled_parts_load_as_the_embedding_model(tiny_model_zip: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    split_into_packages(tiny_model_zip, tmp_path / "site")
    assert main(["models", "assemble", NAME, "--parts", str(tmp_path / "site")]) == 0
    settings = load_settings()
    target = settings.data_dir / "models" / NAME
    assert "assembled from 3 part(s)" in capsys.readouterr().out
    assert (target / "modules.json").is_file() and not (target / "desktop.ini").exists()
    assert load_settings(embedding_model=NAME).embedding_model == str(target)
    embedder = text_embedder(load_settings(embedding_model=NAME))
    embedder.warm_up()
    assert len(embedder.run(text="what is a gradient?")["embedding"]) == 32
    assert main(["models", "assemble", NAME, "--parts", str(tmp_path / "site")]) == 0
    assert "already assembled" in capsys.readouterr().out
    assert main(["models", "list"]) == 0
    assert NAME in capsys.readouterr().out


def test_a_missing_part_is_named(tiny_model_zip: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parts = split_into_packages(tiny_model_zip, tmp_path / "site")
    parts[1].unlink()
    assert main(["models", "assemble", NAME, "--parts", str(tmp_path / "site")]) == 1
    assert "part(s) 002 missing" in capsys.readouterr().err
    assert not (load_settings().data_dir / "models" / NAME).exists()


def test_a_damaged_part_leaves_no_model_behind(tiny_model_zip: bytes, tmp_path: Path) -> None:
    parts = split_into_packages(tiny_model_zip, tmp_path / "site")
    data = bytearray(parts[0].read_bytes())
    data[len(data) // 2] ^= 0xFF
    parts[0].write_bytes(bytes(data))
    with pytest.raises(ModelArchiveError, match=r"CRC|not a zip|damaged"):
        assemble(NAME, parts, tmp_path / "models")
    assert [p.name for p in (tmp_path / "models").iterdir()] == []


def test_a_member_outside_the_model_folder_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../escape.txt", "x")
        archive.writestr(f"{NAME}/modules.json", "[]")
    parts = split_into_packages(buffer.getvalue(), tmp_path / "site", parts=2)
    with pytest.raises(ModelArchiveError, match="unsafe path"):
        assemble(NAME, parts, tmp_path / "models")
    assert not (tmp_path / "escape.txt").exists()


def test_parts_of_another_model_or_twice_the_same_number_are_errors(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = tmp_path / "a" / f"{NAME}.zip.001", tmp_path / "b" / f"{NAME}.zip.001"
    first.write_bytes(b"1")
    second.write_bytes(b"2")
    with pytest.raises(ModelArchiveError, match="found twice"):
        ordered_parts([first, second], NAME)
    with pytest.raises(ModelArchiveError, match="not a part"):
        ordered_parts([tmp_path / "a" / "other.zip.001"], NAME)
    with pytest.raises(ModelArchiveError, match="no parts"):
        ordered_parts([], NAME)


@pytest.mark.parametrize(
    ("members", "reason"),
    [({"notes.txt": "no model here"}, "not a sentence-transformers model"), ({"config.json": "{}", "blob.bin": "x"}, "holds no weights")],
)
def test_an_archive_without_a_model_is_refused(tmp_path: Path, members: dict[str, str], reason: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, text in members.items():
            archive.writestr(f"{NAME}/{member}", text)
    parts = split_into_packages(buffer.getvalue(), tmp_path / "site", parts=1)
    with pytest.raises(ModelArchiveError, match=reason):
        assemble(NAME, parts, tmp_path / "models")
    assert not (tmp_path / "models" / NAME / MARKER).exists()
