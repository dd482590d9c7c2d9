"""The Flask web app: sign-in, search, and (later) the JSON API.

`create_app()` is the only entry point (`gunicorn 'search_app:create_app()'`). Nothing else in
the product imports this package.
"""

from search_app.app import create_app

__all__ = ["create_app"]
