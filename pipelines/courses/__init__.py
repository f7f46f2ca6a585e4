"""Several courses in one deployment: the catalog, per-course settings, routing, limits and answer policy."""
