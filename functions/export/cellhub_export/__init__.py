"""The export Lambda: export-queue messages into the export step, which streams the ZIP to S3."""
