"""Training and evaluation: triplet mining, embedder and reranker fine-tuning, the dev-set evaluation."""
