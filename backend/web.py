"""The FastAPI application: middleware, error pages and the routers of every domain."""

import asyncio
import codecs
import ipaddress
import logging
import secrets
from collections.abc import Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlencode

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

import backend.wiring  # noqa: F401 — subscribes the higher layers to core.events (docs/ARCHITECTURE.md)
from backend import i18n
from backend.accounts.routes import api as accounts_api
from backend.accounts.routes import pages as accounts_pages
from backend.assessments.routes import api as assessments_api
from backend.assessments.routes import pages as assessments_pages
from backend.audit.routes import api as audit_api
from backend.audit.routes import pages as audit_pages
from backend.bulletins.routes import pages as bulletins_pages
from backend.config import get_settings
from backend.core.asgi import HttpMiddleware
from backend.core.bodies import FORM_OVERHEAD, body_limit, urlencoded_limit
from backend.core.feedback import done, htmx_redirect
from backend.core.forms import DATE_OUT_OF_RANGE, date_out_of_range_message
from backend.core.observability import ObservabilityMiddleware, configure_logging
from backend.core.redis import close_redis, get_redis
from backend.core.templating import render
from backend.core.text import without_controls
from backend.db import dispose_engine, get_engine
from backend.delivery.routes import api as delivery_api
from backend.delivery.routes import pages as delivery_pages
from backend.deps import CSRF_COOKIE, RedirectTo, csrf_protect
from backend.errors import DomainError, InvalidInput, NotFound
from backend.evidence.routes import api as evidence_api
from backend.evidence.routes import pages as evidence_pages
from backend.holidays.jobs import keep_calendar_fresh
from backend.holidays.routes import pages as holidays_pages
from backend.i18n import _
from backend.notifications.routes import api as notifications_api
from backend.notifications.routes import pages as notifications_pages
from backend.plans.routes import api as plans_api
from backend.plans.routes import pages as plans_pages
from backend.reminders.routes import pages as reminders_pages
from backend.reports.routes import api as reports_api
from backend.reports.routes import pages as reports_pages
from backend.reviews.routes import pages as reviews_pages
from backend.tasks.routes import api as tasks_api
from backend.tasks.routes import pages as tasks_pages
from backend.tenancy.routes import api as tenancy_api
from backend.tenancy.routes import pages as tenancy_pages

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]
STATIC_DIR = ROOT / "frontend" / "static"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"geolocation=(), microphone=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class BrowserStateMiddleware(HttpMiddleware):
    """Security headers, the CSRF seed cookie and the UI language, set once per request (pure ASGI)."""

    async def http(self, scope, receive, send):
        cookies = _cookies(scope)
        seed = cookies.get(CSRF_COOKIE)
        new_seed = None
        if not seed or len(seed) > 100:
            seed = new_seed = secrets.token_urlsafe(24)
        state = scope.setdefault("state", {})
        state["csrf_seed"] = seed
        i18n.set_locale(cookies.get("luoshi_lang"))
        secure = "; Secure" if get_settings().cookie_secure else ""

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                present = {k.lower() for k, _v in headers}  # a route's own (e.g. a download's sandbox CSP) stays
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                if not any(k == b"cache-control" for k, _v in headers):
                    headers.append((b"cache-control", b"no-store"))
                if new_seed and not any(
                    k == b"set-cookie" and v.startswith(CSRF_COOKIE.encode()) for k, v in headers
                ):
                    headers.append((b"set-cookie", f"{CSRF_COOKIE}={new_seed}; Path=/; HttpOnly; SameSite=Lax{secure}"
                                    .encode()))
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware(HttpMiddleware):
    """No request body beyond its route's limit is read, not even spooled to disk (`backend.core.bodies`): small
    for everything that takes no file, a file's limit plus the form around it for the routes that take files, and
    small for any urlencoded form (which never carries a file). A declared length over the limit is refused at once,
    an undeclared one as soon as it passes it, before authentication and before any middleware decodes it."""

    async def http(self, scope, receive, send):
        limit, upload = body_limit(scope["app"], scope)
        headers = dict(scope["headers"])
        if _media_type(headers) == "application/x-www-form-urlencoded":
            limit, upload = min(limit, urlencoded_limit()), False
        declared = headers.get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit, upload)
            return
        seen = 0
        started = False

        async def counting_receive():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _BodyTooLarge
            return message

        async def tracking_send(message):
            nonlocal started
            if seen > limit:  # FastAPI turns an exception while it reads the body into its own 400: not sent
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        with suppress(_BodyTooLarge):
            await self.app(scope, counting_receive, tracking_send)
        if seen > limit and not started:  # an undeclared length (chunked) that passed the limit
            await self._refuse(scope, receive, send, limit, upload)

    async def _refuse(self, scope, receive, send, limit: int, upload: bool) -> None:
        if upload:
            mb = max(1, (limit - FORM_OVERHEAD) // 2**20)
            message = _("上传的内容太大（每个文件不超过 %(mb)s MB）。请压缩或拆分后再上传。", mb=mb)
        else:
            message = _("提交的内容太大（不超过 %(kb)s KB），没有保存。请精简后重新提交；文件请用上传按钮。",
                        kb=limit // 1024)
        response = error_response(Request(scope, _replay({"type": "http.request"}, receive)), 413, message,
                                  "file" if upload else None)
        await response(scope, receive, send)


def _media_type(headers: dict[bytes, bytes]) -> str:
    return headers.get(b"content-type", b"").decode("latin-1").partition(";")[0].strip().lower()


class _BadFormEncoding(Exception):
    pass


FORM_ON_LOOP = 16 * 1024  # a form up to this size is cleaned in place (well under a millisecond)


class FormTextMiddleware(HttpMiddleware):
    """Form posts (application/x-www-form-urlencoded) reach the routes as valid UTF-8 without control characters.

    Starlette would turn bytes that are not UTF-8 into U+FFFD (or, unencoded, into Latin-1 mojibake) and keep NUL,
    ESC and bidirectional overrides, which PostgreSQL, Excel and Word cannot store or which disguise names. Here a
    body in a declared charset (e.g. GB18030 from an old script) is decoded from it, a body that is not valid text
    in its charset is refused with a message, and control characters are taken out (`backend.core.text`). The body
    is already bounded by BodyLimitMiddleware, which runs first (small for urlencoded forms)."""

    async def http(self, scope, receive, send):
        content_type = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1")
        media_type, _sep, params = content_type.partition(";")
        if media_type.strip().lower() != "application/x-www-form-urlencoded":
            await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                await self.app(scope, _replay(message, receive), send)
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        try:
            charset = _charset(params)
            # Bounded by BodyLimitMiddleware (urlencoded bodies are small); still, anything but a small form is
            # decoded on a worker thread, so that no request holds the event loop for the others.
            if len(body) > FORM_ON_LOOP:
                cleaned = await anyio.to_thread.run_sync(_clean_form, bytes(body), charset)
            else:
                cleaned = _clean_form(bytes(body), charset)
        except _BadFormEncoding:
            refusal = _("提交的文字无法识别（不是有效的 UTF-8 编码），没有保存。请用 UTF-8 编码重新提交；"
                        "在浏览器中填写的表单请刷新页面后重试。")
            request = Request(scope, _replay({"type": "http.request"}, receive))
            await error_response(request, 400, refusal)(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"content-length", b"content-type")]
        headers += [(b"content-type", b"application/x-www-form-urlencoded; charset=utf-8"),
                    (b"content-length", str(len(cleaned)).encode())]
        await self.app({**scope, "headers": headers}, _replay({"type": "http.request", "body": cleaned}, receive),
                       send)


def _replay(first: dict, receive):
    """`receive` that gives `first` and then goes on with the client's own messages (a disconnect, later)."""
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return first
        return await receive()

    return replayed


def _charset(params: str) -> str:
    for param in params.split(";"):
        key, _sep, value = param.partition("=")
        if key.strip().lower() == "charset":
            try:
                return codecs.lookup(value.strip().strip('"')).name
            except LookupError:
                raise _BadFormEncoding from None
    return "utf-8"


def _clean_form(body: bytes, charset: str) -> bytes:
    pairs: list[tuple[str, str]] = []
    for part in body.split(b"&"):
        if not part:
            continue
        name, _sep, value = part.partition(b"=")
        try:
            decoded = [unquote_to_bytes(p.replace(b"+", b" ")).decode(charset) for p in (name, value)]
        except UnicodeDecodeError:
            raise _BadFormEncoding from None
        pairs.append((without_controls(decoded[0]), without_controls(decoded[1])))
    return urlencode(pairs).encode("ascii")


def _cookies(scope) -> dict[str, str]:
    from http.cookies import SimpleCookie

    raw = b"; ".join(v for k, v in scope["headers"] if k == b"cookie").decode("latin-1")
    jar = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # noqa: BLE001 — a malformed cookie header is just no cookies
        return {}
    return {k: m.value for k, m in jar.items()}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


class ApiError(BaseModel):
    """The body of every error the API answers with: the message for the person and the field it is about."""

    detail: str
    field: str | None = None


# What any /api/v1 operation may answer besides its own result (the body is always `ApiError`).
API_ERRORS: dict[int | str, dict] = {
    400: {"model": ApiError, "description": "请求无法读取（编码或格式有误）"},
    401: {"model": ApiError, "description": "未提供 API 令牌，或令牌无效、已被吊销"},
    403: {"model": ApiError, "description": "您的角色不能进行此操作"},
    404: {"model": ApiError, "description": "找不到（或不属于您的教育局）"},
    409: {"model": ApiError, "description": "内容已被他人修改，或当前状态不允许此操作"},
    413: {"model": ApiError, "description": "上传的内容太大"},
    422: {"model": ApiError, "description": "提交的内容有误（`field` 指出哪一项）"},
}


def error_response(request: Request, status: int, message: str, field: str | None = None) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": message, "field": field}, status_code=status)
    if request.headers.get("hx-request"):
        # htmx swaps nothing on an error status by default; the toast goes out of band into #toasts.
        return render(request, "errors/_toast.html", {"message": message}, status_code=status,
                      headers={"HX-Reswap": "none"})
    return render(request, "errors/page.html", {"message": message, "status": status}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RedirectTo)
    async def redirect(request: Request, exc: RedirectTo):
        if exc.flash:
            return done(request, exc.url, exc.flash, tone="warn")
        if request.headers.get("x-luoshi-poll"):
            # A page polling by itself (the bell, a thumbnail being made) must not carry the person off to the
            # login page while they type: nothing changes, and their next action meets the sign-in with its text.
            return Response(status_code=204)
        if request.headers.get("hx-request"):
            return htmx_redirect(exc.url)
        return RedirectResponse(exc.url, status_code=303)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError):
        return error_response(request, exc.status_code, exc.message, exc.field)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        fields = [str(e["loc"][-1]) for e in exc.errors() if e.get("loc")]
        message = _("提交的内容有误，请检查这些项：%(fields)s。", fields="、".join(fields) or "?")
        if any(loc == "path" for e in exc.errors() for loc in e.get("loc", ())[:1]):
            return error_response(request, 404, NotFound(_("找不到您要的内容，链接可能有误。")).message)
        out_of_range = [str(e["loc"][-1]) for e in exc.errors() if e.get("type") == DATE_OUT_OF_RANGE and e.get("loc")]
        if out_of_range:
            return error_response(request, 422, InvalidInput(date_out_of_range_message()).message, out_of_range[0])
        return error_response(request, 422, InvalidInput(message).message, fields[0] if fields else None)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        messages = {404: _("找不到您要的页面，请检查链接或从首页进入。"), 405: _("不支持这种访问方式。"),
                    # Starlette's form parser: too many fields, a part over 1 MB, a malformed multipart body.
                    400: _("提交的内容无法读取（格式有误，或某一项文字超过 1 MB），没有保存。请精简后重新提交。")}
        return error_response(request, exc.status_code, messages.get(exc.status_code, str(exc.detail)))

    # The database refused a value (too long for its column, NUL, a number out of range): the services check what
    # people type, so this is a limit one of them missed. Nothing was saved; the person can correct it.
    _answer(app, (DataError,), 422, lambda: _("提交的内容过长或含有无法保存的字符，没有保存。请检查后重新提交。"),
            logging.WARNING, "value refused by the database")
    # A JSON body may carry lone surrogates ("\ud800"), which no UTF-8 text (and no database) can hold.
    _answer(app, (UnicodeEncodeError,), 422, lambda: _("提交的文字含有无法识别的字符，没有保存。"))
    _answer(app, (OperationalError, DBAPIError), 503,
            lambda: _("数据库暂时不可用，请稍后重试。您已保存的内容不会丢失。"), logging.ERROR, "database error")
    _answer(app, (Exception,), 500, lambda: _("系统出了点问题，已记录下来。请稍后重试；您已保存的内容不会丢失。"),
            logging.ERROR, "unhandled error")


def _answer(app: FastAPI, kinds: tuple[type[Exception], ...], status: int, message: Callable[[], str],
            level: int = logging.NOTSET, logged_as: str = "") -> None:
    """Errors that all get one answer: its message in the request's language, and a log line when `logged_as`."""
    async def handler(request: Request, exc: Exception) -> Response:
        if logged_as:
            log.log(level, logged_as, exc_info=exc)
        return error_response(request, status, message())

    for kind in kinds:
        app.add_exception_handler(kind, handler)


def _metrics_allowed(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    for entry in get_settings().metrics_allow.split(","):
        entry = entry.strip()
        if entry and address in ipaddress.ip_network(entry, strict=False):
            return True
    return False


def install_platform_routes(app: FastAPI) -> None:
    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon():
        """Browsers ask for it on every page; our icon instead of a 404 each time."""
        return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/x-icon",
                            headers={"Cache-Control": "public, max-age=604800"})

    @app.get("/healthz", include_in_schema=False)
    async def healthz():
        parts = {"db": "ok", "redis": "ok"}
        try:
            async with get_engine().connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 — any failure means the part is down
            parts["db"] = "down"
        try:
            await get_redis().ping()
        except Exception:  # noqa: BLE001
            parts["redis"] = "down"
        ok = all(v == "ok" for v in parts.values())
        return JSONResponse({"status": "ok" if ok else "degraded", **parts}, status_code=200 if ok else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request):
        if not _metrics_allowed(request):
            return PlainTextResponse("Not Found", status_code=404)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@asynccontextmanager
async def lifespan(app: FastAPI):
    refresher = asyncio.create_task(keep_calendar_fresh())
    yield
    refresher.cancel()
    await dispose_engine()
    await close_redis()


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title="Luoshi 落实", version="0.1.0", lifespan=lifespan, dependencies=[Depends(csrf_protect)],
        docs_url=None, redoc_url=None, openapi_url="/api/v1/openapi.json",
    )
    install_error_handlers(app)
    install_platform_routes(app)
    for router in (accounts_pages, tenancy_pages, tasks_pages, reports_pages, plans_pages, evidence_pages,
                   notifications_pages, audit_pages, delivery_pages, reminders_pages, holidays_pages):
        app.include_router(router)
    app.include_router(bulletins_pages)
    app.include_router(reviews_pages)
    app.include_router(assessments_pages)
    app.include_router(assessments_api, prefix="/api/v1", responses=API_ERRORS)
    for router in (accounts_api, tenancy_api, tasks_api, reports_api, plans_api, evidence_api, notifications_api,
                   audit_api, delivery_api):
        app.include_router(router, prefix="/api/v1", responses=API_ERRORS)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # Authlib keeps the OIDC state and nonce in this short-lived signed cookie, and the login its `next` page.
    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie="luoshi_oidc",
                       max_age=600, same_site="lax", https_only=settings.cookie_secure)
    app.add_middleware(FormTextMiddleware)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(BrowserStateMiddleware)
    app.add_middleware(ObservabilityMiddleware)
    return app
