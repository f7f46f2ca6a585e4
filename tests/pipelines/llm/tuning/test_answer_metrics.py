"""Answer metrics on a hand-checked toy case."""

from __future__ import annotations

from types import SimpleNamespace

from pipelines.training.evaluation.answers import evaluate_answers, offline_summary, score_reply, sentence_support

PASSAGES = [
    "Attention lets every token look at every other token and weigh them by similarity.",
    "The softmax turns the raw scores into weights that sum to one.",
]


def test_a_supported_citation_of_the_gold_passage_scores_everywhere() -> None:
    score = score_reply("Every token looks at every other token, weighted by similarity [1].", PASSAGES, [1], True)
    assert score.cited == [1] and score.valid and score.cites_gold and not score.declined and score.faithful is True
    assert score.words == 10


def test_invented_numbers_and_unsupported_claims_are_caught() -> None:
    invented = score_reply("Tokens attend [3].", PASSAGES, [1], True)
    assert invented.cited == [] and not invented.valid and invented.declined
    mixed = score_reply("Softmax weights sum to one [2]. Bananas are yellow fruit [1].", PASSAGES, [1], True)
    assert mixed.cited == [2, 1] and mixed.valid and mixed.cites_gold
    assert sentence_support("Softmax weights sum to one [2]. Bananas are yellow fruit [1].", PASSAGES) == [True, False]
    assert mixed.faithful is False
    wrong = score_reply("The softmax makes weights that sum to one [2].", PASSAGES, [1], True)
    assert wrong.valid and not wrong.cites_gold and wrong.faithful is True


def test_summary_counts_declines_per_kind_and_speed() -> None:
    examples = [
        SimpleNamespace(prompt=[], passages=PASSAGES, gold=[1], answerable=True, offline={"declined": False, "cited": [1]}),
        SimpleNamespace(prompt=[], passages=PASSAGES, gold=[], answerable=False, offline={"declined": False, "cited": [2]}),
        SimpleNamespace(prompt=[], passages=PASSAGES, gold=[], answerable=False, offline={"declined": True, "cited": []}),
    ]
    replies = iter(["Every token looks at other tokens by similarity [1].", "The lectures don't cover this.", "Softmax [2]."])
    summary = evaluate_answers(examples, "toy", lambda messages: SimpleNamespace(text=next(replies), completion_tokens=10))
    figures = summary.to_dict()
    assert figures["valid_citations"] == 1.0 and figures["cites_gold"] == 1.0
    assert figures["decline_accuracy"] == 0.5 and figures["false_declines"] == 0.0
    assert figures["faithfulness"] == 1.0  # "Softmax [2]." is supported by passage 2
    assert figures["tokens_per_s"] is not None and figures["tokens_per_s"] > 0
    offline = offline_summary(examples).to_dict()
    assert offline["decline_accuracy"] == 0.5 and offline["cites_gold"] == 1.0
