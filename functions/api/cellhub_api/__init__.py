"""The hub's HTTP API: one FastAPI app (``create_app``) served by uvicorn locally and by
Mangum behind API Gateway in the cloud."""
