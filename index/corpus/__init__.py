"""Corpus stage: documents and their variants, read, normalised, segmented into clauses and collated."""
