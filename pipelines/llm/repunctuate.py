"""Repunctuate raw transcripts with an LLM without ever losing a word or its timestamp.

Raw YouTube transcripts are one long run of lowercase words. We send them to the model in windows
that fit its context, then *align* the punctuated text back to the original words (difflib over
normalised tokens) and copy only casing and punctuation onto them. The words themselves, and so
their timestamps, always come from the original: a sentence's start is its first word's start.

The model may still misbehave (drop a passage, invent one, answer an instruction spoken in the
lecture). Alignment measures exactly that; a window whose output drops or adds more than a few
words is rejected as a whole and keeps the deterministic pseudo-sentence segmentation of
``pipelines.corpus.sentences`` (the offline path), with the reason logged.
"""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass, field, replace

from pipelines.corpus.sentences import TimedWord, split_sentences, timed_words
from pipelines.domain import Segment, Sentence
from pipelines.llm.cache import LLMCache
from pipelines.llm.client import LLMClient, LLMError
from pipelines.llm.prompts import PROMPT_VERSION, repunctuate_messages

logger = logging.getLogger(__name__)

STAGE = "repunctuate"
MIN_MATCHED_SHARE = 0.95  # at least this share of the window's words must come back unchanged
MAX_INSERTED_SHARE = 0.05  # at most this share of extra words
MAX_RUN = 6  # a run of more dropped or invented words than this is content, not a contraction
SENTENCE_END = re.compile(r"[.?!][\"')\]]*$")
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


def normalise(token: str) -> str:
    """What a word *is*, ignoring casing and punctuation: "Don't," → "dont"."""
    return "".join(_TOKEN.findall(token.lower()))


def needs_repunctuation(words: list[TimedWord] | list[str], per_words: int = 40) -> bool:
    """True when sentence punctuation is rarer than once every ``per_words`` words (raw captions)."""
    texts = [w if isinstance(w, str) else w.text for w in words]
    if len(texts) < 20:
        return False
    ends = sum(1 for t in texts if SENTENCE_END.search(t))
    return ends * per_words < len(texts)


@dataclass
class Alignment:
    """How the model's output maps onto the original words, and how much it dropped or added."""

    surfaces: list[str]  # one per original word: the original word with the model's casing/punctuation
    matched: int
    inserted: int
    longest_dropped: int
    longest_inserted: int

    def problem(self, words: int) -> str | None:
        """Why this output must not be used, or None when it only punctuated."""
        if self.matched < MIN_MATCHED_SHARE * words:
            return f"dropped content: only {self.matched}/{words} words came back"
        if self.inserted > MAX_INSERTED_SHARE * words + 1:
            return f"invented content: {self.inserted} words that are not in the transcript"
        if self.longest_dropped > MAX_RUN:
            return f"dropped content: a run of {self.longest_dropped} words is missing"
        if self.longest_inserted > MAX_RUN:
            return f"invented content: a run of {self.longest_inserted} added words"
        return None


def align(original: list[str], punctuated: str) -> Alignment:
    """Map the model's tokens onto the original words; unmatched original words stay as they were."""
    out_tokens: list[str] = []
    for token in punctuated.split():
        if normalise(token):
            out_tokens.append(token)
        elif out_tokens:  # a lone "-" or "..." belongs to the word before it
            out_tokens[-1] += token
    source = [normalise(w) for w in original]
    target = [normalise(t) for t in out_tokens]
    surfaces = list(original)
    matched = inserted = longest_dropped = longest_inserted = 0
    matcher = difflib.SequenceMatcher(None, source, target, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for offset in range(i2 - i1):
                surfaces[i1 + offset] = out_tokens[j1 + offset]
            matched += i2 - i1
            continue
        dropped, added = i2 - i1, j2 - j1
        inserted += added
        longest_dropped = max(longest_dropped, dropped)
        longest_inserted = max(longest_inserted, added)
        if op == "replace":  # "gonna" → "going to": keep the spoken words, take the punctuation
            punctuation = re.search(r"[^\w]*$", out_tokens[j2 - 1])  # always matches, possibly empty
            trailing = punctuation.group(0) if punctuation else ""
            if trailing:
                surfaces[i2 - 1] = original[i2 - 1] + trailing
            if out_tokens[j1][:1].isupper():
                surfaces[i1] = original[i1][:1].upper() + original[i1][1:]
    return Alignment(surfaces, matched, inserted, longest_dropped, longest_inserted)


@dataclass
class RepunctuationResult:
    """Sentences and words of one transcript, which windows the model punctuated, and why others fell back."""

    sentences: list[Sentence]
    words: list[TimedWord]
    method: str  # "llm:<model>", "offline" or "llm:<model>+offline" when some windows fell back
    windows: int = 0
    windows_llm: int = 0
    reasons: list[str] = field(default_factory=list)
    matched_words: int = 0
    total_words: int = 0


def windows_of(words: list[TimedWord], size: int) -> list[tuple[int, int]]:
    """Windows of about ``size`` words, each ending at the longest pause of its last quarter."""
    bounds: list[tuple[int, int]] = []
    start = 0
    while start < len(words):
        end = min(len(words), start + size)
        if end < len(words) and end - start > 8:
            best, best_gap = end, -1.0
            for index in range(start + (3 * size) // 4, end):
                left, right = words[index - 1], words[index]
                gap = (right.start - left.end) if right.start is not None and left.end is not None else 0.0
                gap += 1.0 if left.ends_segment else 0.0
                if gap > best_gap:
                    best, best_gap = index, gap
            end = best
        bounds.append((start, end))
        start = end
    return bounds


def repunctuate(
    segments: list[Segment],
    client: LLMClient | None,
    cache: LLMCache | None = None,
    window_words: int = 600,
) -> RepunctuationResult:
    """Timed sentences for ``segments``; with a client, unpunctuated text is repunctuated first."""
    words = timed_words(segments)
    if client is None or not needs_repunctuation(words):
        return RepunctuationResult(split_sentences(words), words, "offline", total_words=len(words))
    result = RepunctuationResult([], [], client.name, total_words=len(words))
    rewritten: list[TimedWord] = []
    for start, end in windows_of(words, window_words):
        window = words[start:end]
        result.windows += 1
        surfaces, reason, matched = _window(window, client, cache)
        if reason:
            result.reasons.append(f"words {start}-{end}: {reason}")
            logger.warning("repunctuation of words %d-%d falls back to offline segmentation: %s", start, end, reason)
            rewritten.extend(window)
            continue
        result.windows_llm += 1
        result.matched_words += matched
        rewritten.extend(replace(word, text=surface) for word, surface in zip(window, surfaces, strict=True))
    if result.windows_llm < result.windows:
        result.method = f"{client.name}+offline" if result.windows_llm else "offline"
    result.words = rewritten
    result.sentences = split_sentences(rewritten)
    return result


def _window(window: list[TimedWord], client: LLMClient, cache: LLMCache | None) -> tuple[list[str], str | None, int]:
    texts = [w.text for w in window]
    key = LLMCache.key(STAGE, client.model, {"v": PROMPT_VERSION, "words": texts})
    cached = cache.get(STAGE, key) if cache else None
    if cached is not None:
        output = str(cached["text"])
    else:
        try:
            reply = client.chat(repunctuate_messages(texts), stage=STAGE, max_tokens=int(len(texts) * 2.2) + 64)
        except LLMError as error:
            return texts, str(error), 0
        output = reply.text.strip()
        if cache:
            cache.put(STAGE, key, {"text": output, "model": client.model})
    alignment = align(texts, output)
    problem = alignment.problem(len(texts))
    if problem:
        return texts, problem, 0
    return alignment.surfaces, None, alignment.matched


def timestamp_survival(original: list[TimedWord], sentences: list[Sentence], tolerance_s: float = 1.0) -> tuple[float, float]:
    """(share of original words found again in ``sentences``, share whose time is within ``tolerance_s``).

    Measured the way a consumer sees the output: only sentence start/end are stored, so each word's
    time is interpolated inside its sentence, then compared with the word's original start.
    """
    if not original:
        return 1.0, 1.0
    words: list[str] = []
    times: list[float | None] = []
    for sentence in sentences:
        tokens = sentence.text.split()
        if sentence.start is None or sentence.end is None:
            times.extend([None] * len(tokens))
        else:
            weights = [len(t) + 1 for t in tokens]
            total = sum(weights) or 1
            cursor = sentence.start
            for weight in weights:
                times.append(cursor)
                cursor += (sentence.end - sentence.start) * weight / total
        words.extend(tokens)
    matcher = difflib.SequenceMatcher(None, [normalise(w.text) for w in original], [normalise(w) for w in words], autojunk=False)
    mapped = within = 0
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            mapped += 1
            word, time = original[block.a + offset], times[block.b + offset]
            if word.start is None or (time is not None and abs(time - word.start) <= tolerance_s):
                within += 1
    return mapped / len(original), within / len(original)
