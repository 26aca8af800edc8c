"""Storage: the corpus database (documents, variants, jobs, leases) and durable files on disk."""
