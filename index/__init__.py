"""concord's indexing side: corpus → retrieval primitives → a saved, published index; storage and jobs."""
