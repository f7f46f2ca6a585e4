"""A tiny LoRA step that changes the adapter and loads back, and the tuned model served to the real answerer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from haystack import Document

from pipelines.llm.client import LLMClient
from pipelines.llm.llm_answerer import LLMAnswerer
from pipelines.llm.prompts import answer_messages
from pipelines.llm.tuning.examples import LlmExample
from pipelines.llm.tuning.models import is_adapter, load_for_inference
from pipelines.llm.tuning.serving import ChatModel, OpenAIChatServer
from pipelines.llm.tuning.sft import LlmFinetuneConfig, finetune_llm
from pipelines.search.offline_answerer import OfflineAnswerer
from pipelines.settings import load_settings
from tests.pipelines.llm.tuning.tiny_model import build_tiny_chat_model

PASSAGE = "Attention lets every token look at every other token"


def example(question: str, target: str, split: str = "train") -> LlmExample:
    messages = answer_messages(question, [("Attention", 12.0, PASSAGE)], [])
    return LlmExample(question, "test", "v1", split, True, [1], [PASSAGE], messages, [{"role": "assistant", "content": target}], "test")


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    folder = tmp_path_factory.mktemp("tiny")
    train = [example("what does attention do", "every token looks at every other token [1]")] * 4
    heldout = [example("how does attention work", "every token looks at every other token [1]", "heldout")]
    texts = [m["content"] for e in train + heldout for m in e.prompt + e.completion]
    base = build_tiny_chat_model(folder / "base", texts)
    config = LlmFinetuneConfig(
        base_model=base, output_dir=folder / "out", batch_size=2, learning_rate=5e-2, lora_r=4, lora_alpha=8, max_steps=3
    )
    return base, finetune_llm(train, heldout, config)


@pytest.mark.timeout(300)
def test_a_lora_step_changes_the_adapter_and_it_loads_back(tuned: tuple[Path, Any]) -> None:
    from safetensors.torch import load_file

    base, result = tuned
    assert is_adapter(result.adapter_path) and result.steps == 3 and result.train_examples == 4
    weights = load_file(str(result.adapter_path / "adapter_model.safetensors"))
    lora_b = [v for k, v in weights.items() if "lora_B" in k]
    assert lora_b and any(float(v.abs().sum()) > 0 for v in lora_b), "LoRA B starts at zero; training must move it"
    card = json.loads((result.adapter_path.parent / "training.json").read_text())
    assert card["hyperparameters"]["lora_r"] == 4 and card["data"]["train_examples"] == 4 and "heldout_loss_after" in card["metrics"]
    assert (result.adapter_path.parent / "README.md").read_text().startswith("# course-ta answer model")
    model, _tokenizer = load_for_inference(result.adapter_path)
    plain, _ = load_for_inference(base)
    tuned_w = dict(model.named_parameters())["model.layers.0.self_attn.q_proj.weight"]
    base_w = dict(plain.named_parameters())["model.layers.0.self_attn.q_proj.weight"]
    assert not bool((tuned_w == base_w).all()), "the merged adapter changes the base weights"


@pytest.mark.timeout(300)
def test_the_served_adapter_answers_through_the_answerer(tuned: tuple[Path, Any], embedder: Any) -> None:
    _, result = tuned
    with OpenAIChatServer(ChatModel(result.adapter_path, "tiny-tuned")) as server:
        settings = load_settings(llm_base_url=server.base_url, llm_model="tiny-tuned", llm_timeout_s=60, llm_max_retries=0)
        client = LLMClient(settings, budget=False)
        answerer = LLMAnswerer(OfflineAnswerer(embedder, min_relevance=-1.0), client, max_passages=1, max_tokens=12)
        document = Document(
            content=PASSAGE + ".",
            meta={"video_id": "v1", "title": "Attention", "url": "", "start_s": 12.0, "end_s": 20.0, "kind": "chunk"},
        )
        streamed: list[str] = []
        answer = answerer.run(
            question="what does attention do", query_embedding=[0.1] * 384, documents=[document], on_text=streamed.append
        )["answer"]
        # Served by the tuned model (an LLM failure would have returned the offline answer instead).
        assert answer.answerer == "llm:tiny-tuned"
        assert client.usage.stages["answer"].calls == 1 and client.usage.stages["answer"].completion_tokens > 0
        assert client.usage.stages["answer"].failures == 0
