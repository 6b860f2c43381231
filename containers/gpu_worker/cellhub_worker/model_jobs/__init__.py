"""Project model jobs: fine-tuning on a project's segmentations and checking uploaded models."""

from cellhub_worker.model_jobs.runner import TorchModelJobRunner

__all__ = ["TorchModelJobRunner"]
