"""Text → speech for course-ta answers: speech text, backends (Tortoise, ElevenLabs, Piper), chain, cache, clips.

Importing this package is cheap on purpose: the Tortoise worker imports ``voice.tortoise_worker`` in
its own environment, which has none of the main app's heavy dependencies.
"""
