"""The Flask extensions the app uses, made once and bound to the app in create_app."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()  # checked only where a form is posted (WTF_CSRF_CHECK_DEFAULT is off)
limiter = Limiter(key_func=get_remote_address)  # the client's address, after TrustedProxies
