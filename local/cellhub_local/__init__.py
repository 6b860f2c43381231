"""The ``cellhub`` command: local verbs that need no server and no cloud."""
