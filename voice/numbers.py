"""Numbers read the way a person says them: "1,024" → "one thousand twenty-four", "2nd" → "second".

Piper's espeak front end, Tortoise's cleaners and ElevenLabs each read digits differently (and
Tortoise mangles long digit runs), so we spell numbers out once, before any backend sees them.
"""

from __future__ import annotations

import re

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_WORDS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
MAX_SPOKEN = 10**15 - 1


def _below_thousand(n: int) -> str:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words.append(f"{_ONES[hundreds]} hundred")
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(_TENS[tens] + (f"-{_ONES[ones]}" if ones else ""))
    elif rest or not hundreds:
        words.append(_ONES[rest])
    return " ".join(words)


def number_to_words(n: int) -> str:
    """Cardinal words for an integer; beyond a quadrillion the digits are read one by one."""
    if n < 0:
        return "minus " + number_to_words(-n)
    if n > MAX_SPOKEN:
        return " ".join(_ONES[int(d)] for d in str(n))
    if n < 1000:
        return _below_thousand(n)
    words: list[str] = []
    for scale, name in _SCALES:
        count, n = divmod(n, scale)
        if count:
            words.append(f"{number_to_words(count)} {name}")
    if n:
        words.append(_below_thousand(n))
    return " ".join(words)


def ordinal_words(n: int) -> str:
    """Ordinal words for an integer: 2 → "second", 21 → "twenty-first", 100 → "one hundredth"."""
    cardinal = number_to_words(n)
    head, separator, last = cardinal.rpartition("-" if "-" in cardinal.split(" ")[-1] else " ")
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head}{separator}{last}" if head else last


def year_words(n: int) -> str:
    """1999 → "nineteen ninety-nine", 2024 → "twenty twenty-four", 2005 → "two thousand five"."""
    century, rest = divmod(n, 100)
    if 2000 <= n < 2010:
        return number_to_words(n)
    if rest == 0:
        return f"{number_to_words(century)} hundred"
    if rest < 10:
        return f"{number_to_words(century)} oh {_ONES[rest]}"
    return f"{number_to_words(century)} {number_to_words(rest)}"


def digits_words(digits: str) -> str:
    """Each digit as a word: "007" → "zero zero seven" (codes, decimals)."""
    return " ".join(_ONES[int(d)] for d in digits)


def decimal_words(text: str) -> str:
    """Read "3.14" as "three point one four": the integer part as a cardinal, decimals digit by digit."""
    whole, _, fraction = text.partition(".")
    spoken = number_to_words(int(whole.replace(",", "") or "0"))
    return f"{spoken} point {digits_words(fraction)}" if fraction else spoken


_TIMESTAMP = re.compile(r"(?<![\d:.])(\d{1,2}):([0-5]\d)(?::([0-5]\d))?(?![\d:])")
_VERSION = re.compile(r"(?<![\w.])[vV]?(\d+(?:\.\d+){2,})(?![\w.])")
_ORDINAL = re.compile(r"(?<![\w.])(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.])(-?)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w])")


def _timestamp(match: re.Match[str]) -> str:
    """Video timestamps: "12:05" → "12 minutes 5 seconds"; "1:02:03" → hours, minutes, seconds."""
    first, second, third = match.group(1), match.group(2), match.group(3)
    units = ("hour", "minute", "second") if third is not None else ("minute", "second")
    values = [int(first), int(second)] + ([int(third)] if third is not None else [])
    spoken = [f"{number_to_words(v)} {u}{'' if v == 1 else 's'}" for v, u in zip(values, units, strict=True) if v]
    return " ".join(spoken) or "zero seconds"


def _version(match: re.Match[str]) -> str:
    spoken = " point ".join(number_to_words(int(part)) for part in match.group(1).split("."))
    return f"version {spoken}" if match.group(0)[0] in "vV" else spoken


def _number(match: re.Match[str]) -> str:
    sign, whole, fraction = match.group(1), match.group(2), match.group(3)
    prefix = "minus " if sign else ""
    if fraction:
        return prefix + decimal_words(whole + fraction)
    value = int(whole.replace(",", ""))
    if not sign and "," not in whole and len(whole) == 4 and (1100 <= value <= 1999 or 2010 <= value <= 2099):
        return year_words(value)
    if len(whole) > 1 and whole.startswith("0"):
        return prefix + digits_words(whole)  # codes like 007 are read digit by digit
    return prefix + number_to_words(value)


def speak_numbers(text: str) -> str:
    """Replace timestamps, versions, ordinals and numbers in ``text`` with words."""
    text = _TIMESTAMP.sub(_timestamp, text)
    text = _VERSION.sub(_version, text)
    text = _ORDINAL.sub(lambda m: ordinal_words(int(m.group(1))), text)
    return _NUMBER.sub(_number, text)
