"""Bytes to text: refuse binary garbage, accept any encoding a human saved a transcript in.

Transcripts arrive from editors on every OS: UTF-8 with or without BOM, UTF-16 from Windows tools,
cp1252 from old caption exporters. charset-normalizer picks the encoding; we only decide whether the
result is text at all and say so clearly when it is not.
"""

from __future__ import annotations

from dataclasses import dataclass

from charset_normalizer import from_bytes

from pipelines.corpus.transcripts.errors import TranscriptError

# The largest real transcript we know (a 2-hour lecture as Whisper JSON with word timings) is ~1.2 MB;
# 16 MiB leaves room for 10-hour recordings and still refuses logs, dumps and media saved as text.
MAX_TRANSCRIPT_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class DecodedText:
    """Text with line ends normalised and BOM removed, its encoding, and a warning when it was not UTF-8."""

    text: str
    encoding: str
    warning: str | None = None


def decode_transcript_bytes(data: bytes) -> DecodedText:
    """Decode in whatever encoding it was saved in; TranscriptError for empty, oversized or binary input."""
    if not data or not data.strip():
        raise TranscriptError("file is empty")
    if len(data) > MAX_TRANSCRIPT_BYTES:
        raise TranscriptError(too_large(len(data)))
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            return DecodedText(_checked(data.decode(encoding, errors="replace")), encoding)
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        return DecodedText(_checked(data.decode(utf16, errors="replace")), utf16, f"UTF-16 without a byte-order mark; decoded as {utf16}")
    try:
        text = data.decode("utf-8")
        if "\x00" in text or _control_ratio(text) > 0.05:
            raise TranscriptError("file looks binary (contains NUL or control bytes), not a transcript")
        return DecodedText(_clean(text), "utf-8")
    except UnicodeDecodeError:
        pass
    if b"\x00" in data[:4096]:
        raise TranscriptError("file looks binary (contains NUL bytes), not a transcript")
    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise TranscriptError("file is not text in any encoding we recognise (binary or corrupt)")
    # Short texts are ambiguous between Western and Central European code pages; captions made on
    # Windows for an English-speaking course are far more often cp1252, so it wins when plausible.
    western = next((m for m in matches if m.encoding == "cp1252"), None)
    if western is not None:
        best = western
    text = str(best)
    if _control_ratio(text) > 0.05:
        raise TranscriptError("file looks binary (too many control characters), not a transcript")
    return DecodedText(_clean(text), best.encoding, f"not UTF-8; decoded as {best.encoding}")


def too_large(size: int) -> str:
    """The one wording of the size limit, for files refused before and after reading."""
    return (
        f"file is {size / (1024 * 1024):.1f} MiB; transcripts larger than {MAX_TRANSCRIPT_BYTES // (1024 * 1024)} MiB are not read "
        "(a 2-hour lecture with word timings is about 1 MiB)"
    )


def _utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le``/``utf-16-be`` when the bytes look like mostly-ASCII text in UTF-16 (a NUL beside every letter)."""
    sample = data[:4096]
    if len(sample) < 8 or b"\x00" not in sample:
        return None
    even, odd = sample[0::2], sample[1::2]
    even_nul = even.count(0) / len(even)
    odd_nul = odd.count(0) / len(odd)
    if odd_nul > 0.6 and even_nul < 0.1:
        return "utf-16-le"
    if even_nul > 0.6 and odd_nul < 0.1:
        return "utf-16-be"
    return None


def _checked(text: str) -> str:
    if "\x00" in text or _control_ratio(text) > 0.05:
        raise TranscriptError("file looks binary (contains NUL or control bytes), not a transcript")
    return _clean(text)


def _clean(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")


def _control_ratio(text: str) -> float:
    sample = text[:20000]
    if not sample:
        return 0.0
    bad = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t")
    return bad / len(sample)
