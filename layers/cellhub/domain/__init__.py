"""Domain records: the plain, typed data the services and repositories exchange."""
