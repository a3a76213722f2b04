"""The Flask extensions the app uses, made once and bound to the app in create_app."""

from __future__ import annotations

from flask import request
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFProtect

from .security import client_group


def client_key() -> str:
    """The client's address (after TrustedProxies), IPv6 grouped by /64."""
    return client_group(request.remote_addr)


csrf = CSRFProtect()  # checked only where a form is posted (WTF_CSRF_CHECK_DEFAULT is off)
limiter = Limiter(key_func=client_key)
