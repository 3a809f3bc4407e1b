"""OIDC login through Authlib against the configured issuer (e.g. a province's 统一身份认证)."""

from authlib.integrations.starlette_client import OAuth

from backend.config import get_settings

try:  # Authlib reaches the provider with httpx2 when installed, else httpx
    import httpx2 as _http
except ImportError:
    import httpx as _http

# Raised when the provider cannot be reached or answers discovery/token/JWKS with an HTTP error.
ProviderUnreachable = _http.HTTPError

_oauth: OAuth | None = None


def client():
    global _oauth
    settings = get_settings()
    if _oauth is None:
        _oauth = OAuth()
        _oauth.register(
            "oidc",
            server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256"},
        )
    return _oauth.oidc


def reset() -> None:
    """Forget the registered client (tests point it at their own provider)."""
    global _oauth
    _oauth = None
