import pytest

from voice.numbers import number_to_words, ordinal_words, speak_numbers
from voice.speech_text import SpeechTextError, prepare_speech_text


def test_markdown_links_citations_and_code_are_not_spoken():
    text = (
        "## Learning rate\n\n**Too high** and it diverges [1][2]. See [lecture 3](https://www.youtube.com/watch?v=abc&t=75s) "
        "or https://example.com/notes.\n\n```python\nfor step in range(100):\n    print(step)\n```\n- use `lr=0.01`\n"
    )
    spoken = prepare_speech_text(text).text
    assert "http" not in spoken and "youtube" not in spoken and "[" not in spoken
    assert "print" not in spoken and "*" not in spoken and "#" not in spoken and "`" not in spoken
    assert "Learning rate." in spoken and "Too high and it diverges." in spoken and "lecture three" in spoken


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("It took 1,024 steps.", "one thousand twenty-four steps"),
        ("Jump to 12:05 in the video.", "twelve minutes five seconds"),
        ("A rate of 0.01 is safe.", "zero point zero one"),
        ("Accuracy rose by 15%.", "fifteen percent"),
        ("See the 2nd lecture.", "second lecture"),
        ("Use e.g. Adam.", "for example"),
        ("Epochs 10-20 are enough.", "ten to twenty"),
        ("It runs 3x faster in 500ms.", "three times faster in five hundred milliseconds"),
    ],
)
def test_numbers_and_abbreviations_are_read_naturally(written, spoken):
    assert spoken in prepare_speech_text(written).text


def test_number_words():
    assert number_to_words(0) == "zero"
    assert number_to_words(1_000_001) == "one million one"
    assert number_to_words(-42) == "minus forty-two"
    assert ordinal_words(21) == "twenty-first" and ordinal_words(12) == "twelfth"
    assert speak_numbers("Python 3.11.2") == "Python three point eleven point two"


@pytest.mark.parametrize("bad", ["", "   \n\t ", "🎉🚀👍", "猫が好きです", "```\ncode only\n```", "https://example.com [1]"])
def test_nothing_speakable_is_a_clear_error(bad):
    with pytest.raises(SpeechTextError, match="nothing to say"):
        prepare_speech_text(bad)


def test_emoji_and_other_scripts_are_dropped_from_mixed_text():
    spoken = prepare_speech_text("Great question 🎉! The word 猫 means cat.").text
    assert spoken.isascii() and "cat" in spoken and "Great question" in spoken


def test_length_cap_ends_on_a_sentence_boundary():
    text = " ".join(f"This is sentence number {i} of the answer." for i in range(200))
    result = prepare_speech_text(text, max_seconds=10, words_per_minute=150)
    assert result.truncated
    assert result.words <= 25
    assert result.text.endswith(".") and result.text.startswith("This is sentence number zero")


def test_huge_input_is_capped_not_choked_on():
    result = prepare_speech_text("Gradient descent works. " * 5000 + "x" * 100_000)
    assert result.truncated and result.words <= 120 and result.text.endswith(".")


def test_one_giant_sentence_is_cut_at_a_word_boundary():
    result = prepare_speech_text("word " * 500, max_seconds=6, words_per_minute=100)
    assert result.truncated and result.text.endswith("word.") and result.words == 10
