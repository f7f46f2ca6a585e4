"""Citations keep retrieval's order and point into the right part of a long lecture."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.freshness.ingest import Ingestor
from pipelines.search.offline_answerer import MAX_CITED_VIDEOS
from pipelines.search.query import build_query_pipeline, query_inputs
from pipelines.settings import load_settings
from pipelines.training.evaluation.metrics import distinct
from tests.pipelines.search.conftest import SAMPLE_COURSE

# A 40-minute lecture in four parts of ten minutes each; questions about a part must cite that part.
TOPICS = {
    "tokens": [
        "Before a model reads text, a tokenizer cuts the text into tokens.",
        "Byte pair encoding starts from single bytes and merges the most frequent pair again and again.",
        "Each merge adds one entry to the vocabulary, so the vocabulary size is a choice we make.",
        "Rare words end up split into several pieces, while common words become a single token.",
        "The tokenizer is trained once on a large sample of text, separately from the model.",
        "Whitespace and punctuation handling differs between tokenizers, which matters for code.",
        "Special tokens mark the beginning and the end of a sequence for the model.",
        "A larger vocabulary makes sequences shorter but the embedding table bigger.",
        "Numbers are often split digit by digit, which makes arithmetic harder for the model.",
        "So the tokenizer decides what the smallest unit of meaning is for everything that follows.",
    ],
    "attention": [
        "Now let us look at self-attention, the heart of the transformer.",
        "Every token produces a query, a key and a value vector with three learned matrices.",
        "The dot product of a query with all keys says how much each token should look at the others.",
        "We divide those scores by the square root of the head size so the softmax does not saturate.",
        "The softmax turns the scores into weights that sum to one for every token.",
        "The output for a token is the weighted sum of the value vectors.",
        "In a decoder we mask the future, so a token can only attend to earlier positions.",
        "Several heads run in parallel and each can learn a different kind of relation.",
        "Their outputs are concatenated and projected back to the model width.",
        "That is how information moves between positions in the sequence.",
    ],
    "optimiser": [
        "Next, the training loop and how the weights are updated.",
        "We compute the loss on a mini batch and call backward to get the gradients.",
        "Plain stochastic gradient descent subtracts the learning rate times the gradient.",
        "Momentum keeps a running average of past gradients to smooth the updates.",
        "Adam also keeps a running average of squared gradients to scale each parameter's step.",
        "A learning rate warmup avoids huge steps while those averages are still unreliable.",
        "Afterwards a cosine schedule slowly decays the learning rate towards zero.",
        "Weight decay pulls the weights gently towards zero at every step.",
        "Gradient accumulation lets us simulate a bigger batch on a small GPU.",
        "Those are the moving parts of every optimisation step we take.",
    ],
    "overfitting": [
        "Finally, how do we know whether the model generalises or just memorises?",
        "We hold out a validation split that the model never trains on.",
        "If the training loss keeps falling while the validation loss starts to rise, the model is overfitting.",
        "That gap between the two curves is the clearest sign of memorisation.",
        "Early stopping keeps the checkpoint with the lowest validation loss.",
        "Dropout randomly zeroes activations during training and acts as a regulariser.",
        "More data is usually the best cure, and data augmentation is the next best thing.",
        "Never tune your choices on the test set, or its numbers stop meaning anything.",
        "Report the test score once, at the very end, for the model you picked on validation.",
        "With that, you can trust the numbers you put in your paper.",
    ],
}
PART_S = 600.0


def timestamp(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d},{round((seconds - whole) * 1000):03d}"


def write_long_lecture(folder: Path) -> dict[str, tuple[float, float]]:
    """An SRT lecture of four ten-minute parts; returns each part's time range."""
    folder.mkdir(parents=True)
    cues, parts = [], {}
    for number, (topic, sentences) in enumerate(TOPICS.items()):
        begin = number * PART_S
        parts[topic] = (begin, begin + PART_S)
        for index, sentence in enumerate(sentences):
            start = begin + index * PART_S / len(sentences)
            cues.append(f"{len(cues) + 1}\n{timestamp(start)} --> {timestamp(start + 8)}\n{sentence}\n")
    (folder / "long-lecture.srt").write_text("\n".join(cues), encoding="utf-8")
    (folder / "manifest.csv").write_text(
        "video_id,title,url\nlong-lecture,Building a language model end to end,https://www.youtube.com/watch?v=longlecture1\n",
        encoding="utf-8",
    )
    return parts


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory):
    """The sample course plus the long lecture, indexed together, and the answering pipeline over them."""
    root = tmp_path_factory.mktemp("citations")
    parts = write_long_lecture(root / "long")
    settings = load_settings(data_dir=root / "data")
    ingestor = Ingestor(settings)
    report = ingestor.ingest([SAMPLE_COURSE, root / "long"])
    assert report.count("added") == 5, [o.reason for o in report.outcomes]
    pipeline = build_query_pipeline(settings, ingestor.bundle)
    pipeline.warm_up()
    return pipeline, parts


def ask(pipeline, question: str) -> tuple[dict, list[str]]:
    """The answerer's outputs and retrieval's ranked videos (after the per-video cap) for one question."""
    output = pipeline.run(query_inputs(pipeline, question), include_outputs_from={"diversity"})
    return output["answerer"], distinct([str(d.meta.get("video_id")) for d in output["diversity"]["documents"]])


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("how can I tell if my model is overfitting?", "overfitting"),
        ("why is early stopping based on the validation loss?", "overfitting"),
        ("why divide the attention scores by the square root of the head size?", "attention"),
        ("what does Adam keep track of that plain SGD doesn't?", "optimiser"),
        ("how does byte pair encoding build its vocabulary?", "tokens"),
    ],
)
def test_a_question_about_one_part_of_a_long_lecture_cites_that_part(course, question: str, topic: str) -> None:
    pipeline, parts = course
    outputs, _ = ask(pipeline, question)
    answer = outputs["answer"]
    assert answer.grounded, answer.text
    moments = [c.start_s for c in answer.citations if c.video_id == "long-lecture"]
    begin, end = parts[topic]
    assert moments and any(begin <= start < end for start in moments if start is not None), (moments, parts[topic])


QUESTIONS = [
    "What is retrieval-augmented generation?",
    "why retrieve passages before the model answers",
    "how does contrastive learning pick negatives",
    "what is a triplet loss",
    "how do I transcribe audio with whisper",
    "how is the voice of the instructor cloned",
    "what does the tokenizer do before the model reads text",
    "why mask future tokens in a decoder",
    "what is the learning rate warmup for",
    "how do I know the model memorises",
    "what is the capital of France",
    "how do I bake sourdough bread",
]


@pytest.mark.parametrize("question", QUESTIONS)
def test_citations_follow_retrieval_and_never_drop_a_video_that_clears_the_threshold(course, question: str) -> None:
    pipeline, _ = course
    outputs, ranked = ask(pipeline, question)
    answer, threshold = outputs["answer"], pipeline.get_component("answerer").min_relevance
    best = {}
    for video, _, score in outputs["candidates"]:
        best[video] = max(best.get(video, -1.0), score)
    if not answer.grounded:
        assert outputs["relevance"] < threshold and answer.citations == []
        return
    clearing = [video for video in ranked if best.get(video, -1.0) >= threshold]
    cited = distinct([c.video_id for c in answer.citations])
    # Every video retrieval ranked whose evidence clears the threshold is cited, in retrieval's order, up to three.
    assert cited == clearing[:MAX_CITED_VIDEOS]
    assert all(c.score >= threshold for c in answer.citations)
