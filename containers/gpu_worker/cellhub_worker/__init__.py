"""Segmentation worker: models (classical and learned nets), inference and post-processing."""
