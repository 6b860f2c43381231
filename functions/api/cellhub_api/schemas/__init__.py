"""Request and response bodies of the API, one module per resource (``Create/Update/Out``)."""
