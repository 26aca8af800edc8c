"""Retrieval primitives: the embedding model, vector stores, the lexical index and query expansion."""
