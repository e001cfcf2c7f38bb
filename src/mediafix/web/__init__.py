"""The web app: a person's way from "here is my mess" to "here is my archive".

``create_app`` (``web/app.py``) builds it; ``mediafix serve`` (``web/serve.py``) runs it with
an embedded worker. The pages are ``web/views/``, one blueprint each.
"""

from mediafix.web.app import create_app

__all__ = ["create_app"]
