"""Scoring segmentations against ground truth: metrics, annotated folders and the runner."""
