"""Supervised fine-tuning of the answer LLM: training data in the serving prompt's shape, LoRA training, local serving."""
