"""Everything between a lecture video and an answer: corpus, stores, search, freshness, training and the LLM layer."""
