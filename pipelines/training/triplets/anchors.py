"""Student-style anchors from lecture text: a deterministic generator, and an LLM one when configured.

A student rarely types the lecturer's sentence back; they ask about its key terms ("how does the
unigram tokenizer pick what to drop?"). The offline generator keeps a sentence's most specific
words (highest IDF over the corpus, in their original order) and puts them in a question template;
definitions ("X is a ...") become "what is X?". It is deterministic (the template is chosen by a
hash of the chunk id), so mining twice gives the same file.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterable
from typing import Protocol

STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "let",
        "like",
        "me",
        "more",
        "most",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "really",
        "right",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "way",
        "we",
        "well",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "okay",
        "ok",
        "yeah",
        "gonna",
        "going",
        "get",
        "got",
        "thing",
        "things",
        "kind",
        "sort",
        "actually",
        "basically",
        "one",
        "two",
        "see",
        "look",
        "going",
        "say",
        "said",
        "want",
        "need",
        "know",
        "think",
        "go",
        "make",
        "made",
        "use",
        "used",
        "using",
        "here's",
        "let's",
        "it's",
        "that's",
        "we're",
        "we'll",
        "i'm",
        "you're",
        "there's",
        "what's",
        "don't",
        "can't",
    ]
)
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_+#.'-]*[A-Za-z0-9]|[A-Za-z]")
DEFINITION = re.compile(
    r"^(?:so |and |now |well |but |okay |remember, )*(?:the |a |an )?([a-z][a-z0-9 _-]{2,40}?) (?:is|are|means|refers to) "
    r"(?:called |basically |just |simply |actually )?(?:a|an|the|what|how|when)\b",
    re.I,
)
KEYWORD_TEMPLATES = (
    "how does {k} work?",
    "can someone explain {k}?",
    "what does the lecture say about {k}?",
    "I'm confused about {k}, what is going on there?",
    "why do we need {k}?",
    "{k}?",
    "what's the idea behind {k}",
    "where is {k} explained?",
)
TITLE_TEMPLATES = ("which lecture explains {t}?", "is there a video about {t}?", "intro to {t}")


class Paraphraser(Protocol):
    """Rewrites a lecture sentence as the question a student would ask (an LLM, when configured)."""

    def __call__(self, sentence: str, title: str) -> str | None:
        """The question for ``sentence`` of lecture ``title``, or None to fall back to the built-in anchors."""
        ...


def words(text: str) -> list[str]:
    """The lowercased words of ``text``, edge punctuation stripped, as IDF, keywords and salience count them."""
    return [w.strip(".'-").lower() for w in WORD.findall(text)]


class IdfTable:
    """Inverse document frequency over chunks: how specific a word is to a few passages."""

    def __init__(self, texts: Iterable[str]) -> None:
        counts: Counter[str] = Counter()
        total = 0
        for text in texts:
            counts.update(set(words(text)))
            total += 1
        self.total = max(total, 1)
        self.counts = counts

    def idf(self, word: str) -> float:
        """log((chunks + 1) / (chunks with the word + 1)): larger for rarer words, largest for unseen ones."""
        return math.log((self.total + 1) / (self.counts.get(word, 0) + 1))


MIN_DOCUMENT_FREQUENCY = 3  # a word in fewer passages is a name or a transcription slip, not course vocabulary


def keywords(sentence: str, idf: IdfTable, limit: int = 3, topic: Counter[str] | None = None) -> list[str]:
    """The ``limit`` most specific course words of ``sentence``, in the order they are spoken.

    With ``topic`` (word counts of the whole lecture), only words the lecture says at least twice
    count: its subject ("tokenizer", "determinant"), not a one-off rare word ("postdoctoral").
    """
    seen: dict[str, int] = {}
    for position, word in enumerate(words(sentence)):
        if topic is not None and topic.get(word, 0) < 2:
            continue
        if (
            len(word) > 2
            and word not in STOPWORDS
            and not word.isdigit()
            and word not in seen
            and idf.counts.get(word, 0) >= MIN_DOCUMENT_FREQUENCY
        ):
            seen[word] = position
    best = sorted(seen, key=lambda w: idf.idf(w), reverse=True)[:limit]
    return sorted(best, key=lambda w: seen[w])


def salience(sentence: str, idf: IdfTable) -> float:
    """How much a sentence says: summed IDF of its content words, damped for long rambling ones."""
    content = [w for w in words(sentence) if w not in STOPWORDS and len(w) > 2]
    if not content:
        return 0.0
    return sum(idf.idf(w) for w in set(content)) / math.sqrt(len(words(sentence)))


def _pick(options: tuple[str, ...], key: str) -> str:
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return options[digest[0] % len(options)]


def question_from_sentence(sentence: str, idf: IdfTable, key: str, topic: Counter[str] | None = None) -> str | None:
    """A question in a student's words about what ``sentence`` says, or None when it says too little."""
    match = DEFINITION.match(sentence.strip())
    if match:
        subject = " ".join(w for w in match.group(1).lower().split() if w not in ("this", "that", "it", "here"))
        if len(subject) >= 3 and subject not in STOPWORDS:
            return _pick(("what is {s}?", "what exactly is {s}", "can you define {s}?"), key).format(s=subject)
    terms = keywords(sentence, idf, topic=topic)
    if len(terms) < 2:
        return None
    return _pick(KEYWORD_TEMPLATES, key).format(k=" ".join(terms))


FILLER_OPENING = re.compile(r"^(?:(?:so|and|but|now|okay|ok|well|then|like|um|uh|right)[,]?\s+)+", re.I)
TRIVIAL_QUESTIONS = re.compile(r"^(?:right|okay|ok|yes|no|why|how|what|huh|see|make sense|does that make sense)\b.{0,12}\?$", re.I)


def lecture_question(sentence: str, idf: IdfTable) -> str | None:
    """A question the lecturer asks aloud ("so why do we need an attention mask?"), when it is about course content.

    Lecturers voice the very questions students ask, and the answer follows in the same passage;
    these are the only anchors in a student's own register that need no paraphrasing model. Asides
    ("right?", "does that make sense?") and questions without two course words are skipped.
    """
    text = FILLER_OPENING.sub("", sentence.strip())
    if not text.endswith("?") or TRIVIAL_QUESTIONS.match(text) or not 5 <= len(text.split()) <= 30:
        return None
    if len(keywords(text, idf)) < 2:
        return None
    return text[0].upper() + text[1:]


def restatement(sentence: str, idf: IdfTable) -> str | None:
    """The salient sentence itself, minus filler: the "inverse cloze" anchor.

    Paired with its passage *without* the sentence (see ``pipelines.training.triplets.mining``), it teaches
    the model which surrounding explanation a statement belongs to, not that equal words match.
    """
    text = FILLER_OPENING.sub("", sentence.strip())
    if len(keywords(text, idf)) < 2:
        return None
    return text


def question_from_title(title: str, key: str) -> str | None:
    """A question about the title's topic (series and bracketed parts cut), None for a one-word title; ``key`` picks the wording."""
    cleaned = re.sub(r"\s*[|(\[].*$", "", title).strip().rstrip("?!. ").lower()
    if len(words(cleaned)) < 2:
        return None
    return _pick(TITLE_TEMPLATES, key).format(t=cleaned)


class LLMParaphraser:
    """Asks an OpenAI-compatible chat model for the student question; None on any failure (offline fallback)."""

    PROMPT = (
        "Rewrite the lecture sentence as a short question a student would type to find it. Use your own words, "
        "not the sentence's phrasing. Answer with the question only.\nLecture: {title}\nSentence: {sentence}"
    )

    def __init__(self, base_url: str | None, model: str, api_key: str = "not-needed", timeout_s: float = 30.0) -> None:
        from openai import OpenAI

        self.client = OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=1)
        self.model = model

    def __call__(self, sentence: str, title: str) -> str | None:
        """The model's first line when it is a question of 3 to 40 words; None otherwise or when the call fails."""
        try:
            response = self.client.chat.completions.create(
                model=self.model,
                messages=[{"role": "user", "content": self.PROMPT.format(title=title, sentence=sentence)}],
                temperature=0.7,
                max_tokens=64,
            )
        except Exception:  # a flaky server must not stop mining: the deterministic anchor is used instead
            return None
        text = (response.choices[0].message.content or "").strip().strip('"').splitlines()
        question = text[0].strip() if text else ""
        return question if 3 <= len(question.split()) <= 40 else None
