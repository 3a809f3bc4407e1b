"""A small but real OpenID Connect provider that tests start themselves.

It is a Starlette app served by uvicorn in a background thread on a free 127.0.0.1 port, so Luoshi's Authlib
client talks to it over real HTTP (discovery, token, JWKS), exactly as it would to a province's 统一身份认证.

    with OidcProvider(redirect_uris=["http://testserver/auth/oidc/callback"]) as provider:
        provider.user = OidcUser(sub="u-1", email="a@example.cn")
        ...  # point LUOSHI_OIDC_ISSUER at provider.issuer, client id/secret at provider.client_id/secret

What it does, deliberately strictly:
- /authorize auto-approves `provider.user` (or answers `access_denied` when it is None). An unknown client_id or a
  redirect_uri that is not registered gets an error page, never a redirect. Needs response_type=code, the openid
  scope, and — when `require_pkce` — a PKCE S256 challenge.
- /token accepts client_secret_basic or client_secret_post (not both at once), codes are single-use and short-lived,
  bound to client and redirect_uri, and the PKCE code_verifier is checked. It returns an access token and an RS256
  id_token (iss, sub, aud, exp, iat, auth_time, nonce, at_hash, email, email_verified, name).
- /userinfo answers for a Bearer access token; /jwks publishes the RSA key generated at start.
`provider.token_requests` records how each token request authenticated, so tests can assert on it.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field, replace
from urllib.parse import unquote_plus, urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

CODE_LIFETIME = 60
TOKEN_LIFETIME = 3600


@dataclass(frozen=True)
class OidcUser:
    sub: str
    email: str | None = None
    email_verified: bool | None = True  # None: the provider leaves the claim out of the id_token
    name: str = "测试用户"

    def claims(self) -> dict:
        claims: dict = {"sub": self.sub, "name": self.name}
        if self.email is not None:
            claims["email"] = self.email
            if self.email_verified is not None:
                claims["email_verified"] = self.email_verified
        return claims


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    user: OidcUser
    expires_at: float
    auth_time: int


@dataclass
class TokenRequest:
    auth_method: str
    used_pkce: bool
    ok: bool
    error: str | None = None


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def s256(verifier: str) -> str:
    """The PKCE S256 challenge for a verifier (RFC 7636 §4.2)."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class OidcProvider:
    redirect_uris: list[str]
    client_id: str = "luoshi-test"
    client_secret: str = field(default_factory=lambda: "secret-" + secrets.token_urlsafe(16))
    user: OidcUser | None = None
    require_pkce: bool = True
    token_requests: list[TokenRequest] = field(default_factory=list)
    # Faults to inject, for tests of what the client refuses: claims merged into the next id_tokens
    # (e.g. {"nonce": "other"} or {"aud": "someone-else"}), and a key to sign them with instead of the published one.
    id_token_overrides: dict = field(default_factory=dict)
    sign_with: RSAKey | None = None

    def __post_init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, private=True)
        self.key.ensure_kid()
        self._lock = threading.Lock()
        self._codes: dict[str, _Grant] = {}
        self._access_tokens: dict[str, tuple[OidcUser, float]] = {}
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = Starlette(routes=[
            Route("/.well-known/openid-configuration", self._discovery),
            Route("/jwks", self._jwks),
            Route("/authorize", self._authorize),
            Route("/token", self._token, methods=["POST"]),
            Route("/userinfo", self._userinfo, methods=["GET", "POST"]),
        ])

    # --- lifecycle ----------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._socket is not None, "provider not started"
        return self._socket.getsockname()[1]

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.issuer + path

    def start(self) -> OidcProvider:
        self._socket = _free_socket()
        config = uvicorn.Config(self.app, lifespan="off", log_level="warning", access_log=False, loop="asyncio")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name="oidc-provider", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test OIDC provider did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = None

    def __enter__(self) -> OidcProvider:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget users, codes, tokens and the request log (between tests sharing one provider)."""
        with self._lock:
            self.user = None
            self.require_pkce = True
            self.id_token_overrides = {}
            self.sign_with = None
            self._codes.clear()
            self._access_tokens.clear()
            self.token_requests.clear()

    def login_as(self, sub: str, email: str | None = None, *, email_verified: bool | None = True,
                 name: str = "测试用户") -> OidcUser:
        """The person the next /authorize approves."""
        self.user = OidcUser(sub=sub, email=email, email_verified=email_verified, name=name)
        return self.user

    # --- endpoints ----------------------------------------------------------------------------------------

    async def _discovery(self, request: Request) -> Response:
        return JSONResponse({
            "issuer": self.issuer,
            "authorization_endpoint": self.url("/authorize"),
            "token_endpoint": self.url("/token"),
            "userinfo_endpoint": self.url("/userinfo"),
            "jwks_uri": self.url("/jwks"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
                                 "name", "email", "email_verified"],
        })

    async def _jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def _authorize(self, request: Request) -> Response:
        q = request.query_params
        client_id, redirect_uri, state = q.get("client_id"), q.get("redirect_uri"), q.get("state")
        # Per OIDC core §3.1.2.6: never redirect to an unverified place; show the error instead.
        if client_id != self.client_id:
            return PlainTextResponse("unknown client_id", status_code=400)
        if redirect_uri not in self.redirect_uris:
            return PlainTextResponse("redirect_uri is not registered for this client", status_code=400)

        def back(**params: str) -> Response:
            if state is not None:
                params["state"] = state
            separator = "&" if "?" in redirect_uri else "?"
            return RedirectResponse(redirect_uri + separator + urlencode(params), status_code=302)

        if q.get("response_type") != "code":
            return back(error="unsupported_response_type")
        scope = q.get("scope", "")
        if "openid" not in scope.split():
            return back(error="invalid_scope", error_description="the openid scope is required")
        challenge, method = q.get("code_challenge"), q.get("code_challenge_method", "plain")
        if challenge is None and self.require_pkce:
            return back(error="invalid_request", error_description="PKCE is required")
        if challenge is not None and method != "S256":
            return back(error="invalid_request", error_description="only S256 code challenges are accepted")
        user = self.user
        if user is None:
            return back(error="access_denied", error_description="the user did not sign in")
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Grant(
                client_id=client_id, redirect_uri=redirect_uri, scope=scope, nonce=q.get("nonce"),
                code_challenge=challenge, user=replace(user), expires_at=time.time() + CODE_LIFETIME,
                auth_time=int(time.time()),
            )
        return back(code=code)

    def _client_auth(self, request: Request, form) -> tuple[str | None, str | None, str]:
        """(client_id, client_secret, method) from either the Basic header or the form, not both."""
        header = request.headers.get("authorization", "")
        in_form = "client_secret" in form
        if header.lower().startswith("basic "):
            if in_form:
                return None, None, "both"
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
            except ValueError:
                return None, None, "client_secret_basic"
            raw_id, _sep, raw_secret = decoded.partition(":")
            # RFC 6749 §2.3.1: both parts are form-urlencoded before going into the header.
            return unquote_plus(raw_id), unquote_plus(raw_secret), "client_secret_basic"
        if in_form:
            return form.get("client_id"), form.get("client_secret"), "client_secret_post"
        return form.get("client_id"), None, "none"

    def _token_error(self, request_log: TokenRequest, error: str, description: str, status: int = 400) -> Response:
        request_log.error = error
        self.token_requests.append(request_log)
        headers = {"Cache-Control": "no-store"}
        if error == "invalid_client":
            headers["WWW-Authenticate"] = 'Basic realm="test-oidc"'
        return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=headers)

    async def _token(self, request: Request) -> Response:
        form = await request.form()
        client_id, client_secret, method = self._client_auth(request, form)
        log = TokenRequest(auth_method=method, used_pkce="code_verifier" in form, ok=False)
        if method == "both":
            return self._token_error(log, "invalid_request", "use one client authentication method only")
        if client_id != self.client_id or client_secret is None or not secrets.compare_digest(
            client_secret, self.client_secret
        ):
            return self._token_error(log, "invalid_client", "client authentication failed", 401)
        if form.get("grant_type") != "authorization_code":
            return self._token_error(log, "unsupported_grant_type", "only authorization_code is supported")
        with self._lock:
            grant = self._codes.pop(str(form.get("code", "")), None)  # single use, even when refused below
        if grant is None or grant.expires_at < time.time():
            return self._token_error(log, "invalid_grant", "unknown, used or expired code")
        if grant.client_id != client_id or grant.redirect_uri != form.get("redirect_uri"):
            return self._token_error(log, "invalid_grant", "code was issued to another client or redirect_uri")
        verifier = form.get("code_verifier")
        if grant.code_challenge is not None:
            if not verifier or not secrets.compare_digest(s256(str(verifier)), grant.code_challenge):
                return self._token_error(log, "invalid_grant", "PKCE verification failed")
        elif verifier:
            return self._token_error(log, "invalid_grant", "no code_challenge was sent for this code")

        access_token = secrets.token_urlsafe(32)
        now = int(time.time())
        with self._lock:
            self._access_tokens[access_token] = (grant.user, now + TOKEN_LIFETIME)
        claims = {
            "iss": self.issuer, "aud": self.client_id, "iat": now, "exp": now + TOKEN_LIFETIME,
            "auth_time": grant.auth_time,
            "at_hash": _b64url(hashlib.sha256(access_token.encode("ascii")).digest()[:16]),
            **grant.user.claims(),
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        claims.update(self.id_token_overrides)
        id_token = jwt.encode({"alg": "RS256", "kid": self.key.kid, "typ": "JWT"}, claims, self.sign_with or self.key)
        log.ok = True
        self.token_requests.append(log)
        return JSONResponse({
            "access_token": access_token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME,
            "scope": grant.scope, "id_token": id_token,
        }, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def _userinfo(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        with self._lock:
            entry = self._access_tokens.get(token)
        if entry is None or entry[1] < time.time():
            return JSONResponse({"error": "invalid_token"}, status_code=401,
                                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return JSONResponse(entry[0].claims())
