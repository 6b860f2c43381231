"""Services: the use cases that tie the pipeline stages together, deployment-agnostic."""
