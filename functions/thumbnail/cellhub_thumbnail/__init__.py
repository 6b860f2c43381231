"""The thumbnail Lambda: S3 ObjectCreated notifications (through SQS) into the thumbnail step."""
