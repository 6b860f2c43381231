"""The cloud deployment on one machine: the real entry points on an emulated AWS.

``cellhub serve --backend aws`` runs the API, WebSocket, thumbnail and export Lambda
handlers and the GPU worker's SQS loop unchanged, against moto's server (or any endpoint
that speaks the AWS APIs), with the glue AWS would provide played locally:

- ``provision``: the table, bucket (CORS, S3 → SQS notifications), queues with their
  dead-letter queues, the signing-key secret and the mail sender, as the stack creates them;
- ``http_gateway`` / ``websocket_gateway`` / ``management_api``: API Gateway's HTTP API
  (payload 2.0 events), WebSocket API (``$connect``/``$default``/``$disconnect``) and the
  ``@connections`` management API, served by uvicorn on loopback (``gateway_app``);
- ``pumps``: Lambda's SQS event-source mappings, and the worker loop in a thread;
- ``runner``: starts and stops all of it.
"""
