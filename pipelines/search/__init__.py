"""Search: the query pipeline, rank fusion, diversity, rerank, the answer builders and the not-covered calibration."""
