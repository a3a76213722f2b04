"""What other systems reach the newsletter through, beside its own pages: the REST API's tokens,
models and operations (api_*.py). The web app's routes (web/api.py) only parse, call and answer."""
