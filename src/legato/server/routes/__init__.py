"""The API's routes, one module per resource under ``/api/v1``, each adding its routes to
the app with ``add_routes(api)`` (on the app itself, not an included router, so that the
route table the checks and the tests walk is the one that serves)."""
