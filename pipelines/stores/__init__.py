"""Document stores: the embedded store, Elasticsearch and its administration, the indexing pipeline, re-index and migration."""
