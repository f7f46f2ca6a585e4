"""The Tortoise worker: a small HTTP service that runs tortoise-tts in its own (CUDA) environment.

tortoise-tts pins transformers==4.31 and needs torchaudio, which would break the main app's
environment, so it lives in a separate process (see infra/tortoise). Only :mod:`.model` imports
torch/tortoise, inside :func:`.model.load_tortoise`: the one seam a test can replace.
"""
