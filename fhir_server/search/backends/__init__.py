"""Search backends: each compiles a SearchQuery for its engine."""
