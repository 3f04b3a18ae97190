"""What keeps the pages safe: the secret key, CSRF on every form, security headers, rate limits."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Blueprint, Flask, Response, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFProtect

from workflow.base import config
from workflow.base.private_files import private_dir

csrf = CSRFProtect()
limiter = Limiter(get_remote_address, default_limits=[])

# Endpoints that count their own limit (web/api/throttle.py) and carry no Flask-Limiter one.
SELF_LIMITED = frozenset({"events.post_event"})


@limiter.request_filter
def _counts_itself() -> bool:
    # Flask-Limiter looks for limits on every request (about 6 % of a single-event intake's CPU
    # in-process); intake has none of its own there, so the look-up ends here.
    return request.endpoint in SELF_LIMITED

# Everything the pages load comes from the app itself: no CDN, no inline script or style.
CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


class HeadersOnce(Talisman):  # type: ignore[misc]  # flask-talisman ships no type hints
    """Talisman with its per-request work done once: the same headers, worked out per view and per scheme.

    Talisman rebuilds each answer's options (eight dict look-ups, three times a request) and
    its policy strings on every request, about a tenth of a single-event intake's CPU
    (``bench/intake.py --profile``). Nothing of that changes between two requests to the same
    view over the same scheme unless a nonce is in the policy, so the options are kept per
    endpoint and the headers per (endpoint, https): each is computed by Talisman itself,
    the first time.
    """

    def __init__(self, app: Flask, **kwargs: object) -> None:
        """Install Talisman on ``app`` with ``kwargs``, with empty caches."""
        self._options: dict[str | None, dict[str, object]] = {}
        self._headers: dict[tuple[str | None, bool], list[tuple[str, str]]] = {}
        super().__init__(app, **kwargs)

    def _get_local_options(self) -> dict[str, object]:
        options = self._options.get(request.endpoint)
        if options is None:
            options = self._options[request.endpoint] = super()._get_local_options()
        return options

    def _set_response_headers(self, response: Response) -> Response:
        if self._get_local_options().get("content_security_policy_nonce_in"):
            return super()._set_response_headers(response)  # type: ignore[no-any-return]
        secure = request.is_secure or request.headers.get("X-Forwarded-Proto", "http") == "https"
        key = (request.endpoint, secure)
        headers = self._headers.get(key)
        if headers is None:
            probe = Response()
            before = set(probe.headers.keys())
            super()._set_response_headers(probe)
            headers = self._headers[key] = [(k, v) for k, v in probe.headers.items() if k not in before]
        for name, value in headers:
            response.headers[name] = value
        return response


def https_only() -> bool:
    """Tell whether the deployment is served over HTTPS (``GRIDCASE_HTTPS=1``): secure cookies, HSTS."""
    return os.environ.get("GRIDCASE_HTTPS", "") in {"1", "true", "yes"}


def login_limit() -> str:
    """Return the limit on login attempts per address and per name (``GRIDCASE_LOGIN_LIMIT``)."""
    return os.environ.get("GRIDCASE_LOGIN_LIMIT", "10 per minute")


def track_limit() -> str:
    """Return the limit on residents' status lookups per address (``GRIDCASE_TRACK_LIMIT``)."""
    return os.environ.get("GRIDCASE_TRACK_LIMIT", "20 per minute")


def intake_limit() -> str:
    """Return the limit on ``POST /api/v1/events`` per client address (``GRIDCASE_INTAKE_LIMIT``).

    A hotline or app server forwarding complaints one at a time stays far below 300 a minute;
    a backlog goes in batches of up to 100 events, one request each.
    """
    return os.environ.get("GRIDCASE_INTAKE_LIMIT", "300 per minute")


def ratelimit_storage() -> str:
    """Return where rate-limit counters live: ``GRIDCASE_RATELIMIT_STORAGE``, else Redis if it is the broker.

    Counters in memory hold per process, so several gunicorn workers need Redis.
    """
    explicit = os.environ.get("GRIDCASE_RATELIMIT_STORAGE")
    if explicit:
        return explicit
    broker = config.broker_url()
    return broker if broker.startswith(("redis://", "rediss://")) else "memory://"


def secret_key() -> str:
    """Return ``GRIDCASE_SECRET_KEY``, or a key kept in the data folder (made once, shared by every worker)."""
    explicit = os.environ.get("GRIDCASE_SECRET_KEY")
    if explicit:
        return explicit
    path: Path = private_dir(config.data_dir()) / "secret_key"
    try:
        # O_EXCL: two processes starting at once agree on whichever key was written first.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="ascii").strip()


def init(app: Flask) -> None:
    """Install the secret key, CSRF protection, security headers and the rate limiter on ``app``."""
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key()
    # The JSON API authenticates with bearer tokens, not cookies: only the pages check CSRF tokens.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.config["WTF_CSRF_TIME_LIMIT"] = None  # a form opened in the morning still posts in the afternoon
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config.setdefault("RATELIMIT_STORAGE_URI", ratelimit_storage())
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # Redis away: count in memory for a while rather than refuse every login.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    csrf.init_app(app)
    secure = https_only()
    HeadersOnce(
        app,
        force_https=secure,
        strict_transport_security=secure,
        session_cookie_secure=secure,
        content_security_policy=CSP,
        frame_options="DENY",
        referrer_policy="same-origin",
    )
    limiter.init_app(app)
    app.after_request(no_store)


def no_store(response: Response) -> Response:
    """Keep every answer but the static assets out of caches: pages and JSON carry personal data.

    One rule for all dynamic answers rather than a list of the personal ones, so a new page
    or route is private unless it is an asset.
    """
    if request.endpoint != "ui.static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def protect_forms(blueprint: Blueprint) -> None:
    """Check the CSRF token of every POST to ``blueprint``'s pages."""

    @blueprint.before_request
    def check_csrf() -> None:
        csrf.protect()
