"""AWS adapters: the ports on DynamoDB, S3, SQS, SES and API Gateway (see ``cellhub.ports``)."""
