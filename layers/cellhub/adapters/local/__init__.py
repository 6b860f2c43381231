"""Local adapters: the ports on one machine with no cloud (SQLite, the filesystem, in-process)."""
