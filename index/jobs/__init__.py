"""Jobs: every arrival or removal is a durable job; one runner at a time turns them into a new index."""
