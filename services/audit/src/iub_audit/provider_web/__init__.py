"""The provider web page (utförare): server-rendered Swedish pages under /provider/, see ``pages``."""

from __future__ import annotations

from typing import Any

from iub_audit.provider_web.pages import WebSettings, build_router
from iub_audit.provider_web.session import SessionStore

__all__ = ["SessionStore", "WebSettings", "build_router", "web_settings"]


def web_settings(settings: Any) -> WebSettings:
    """The page's settings from the audit service's (IUB_PROVIDER_*)."""
    return WebSettings(cookie_secure=settings.provider_cookie_secure, session_ttl_s=settings.provider_session_ttl_s,
                       sso_header=settings.provider_sso_header,
                       sso_trusted_proxies=list(settings.provider_sso_trusted_proxies),
                       sso_users={k.strip().lower(): v for k, v in settings.provider_sso_users.items()})
