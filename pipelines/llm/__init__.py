"""The LLM layer: repunctuation, summaries and grounded answers through any OpenAI-compatible server.

Each stage talks to a chat-completions endpoint and has an offline fallback that needs no model.

Nothing here is required: with no ``COURSE_TA_LLM_MODEL`` every caller takes the offline path.
"""
