"""Being told the news: the digest of arrivals, followed topics, and where outlets differ."""
