"""Retrieval evaluation: dev questions through the real query pipeline, scored per question and overall."""
