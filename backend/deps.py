"""Typed request dependencies: the transaction, the signed-in person and the acting member.

Authentication happens here; authorisation happens in services (their domain's policy.py), so no route checks roles.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import User, WebSession
from backend.config import get_settings
from backend.core.actor import Actor, Operator
from backend.core.feedback import is_safe_path, same_site_page
from backend.core.jobs import jobs_after_commit
from backend.core.security import sign
from backend.db import unit_of_work
from backend.errors import Forbidden, NotAuthenticated
from backend.i18n import _
from backend.tenancy import acting

SESSION_COOKIE = "luoshi_session"
CSRF_COOKIE = "luoshi_csrf"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class SignedInUser:
    display_name: str
    is_operator: bool
    draft_key: str  # names this account's unsent form text in the browser (drafts.js) without showing its id


class RedirectTo(Exception):
    """Sends the browser elsewhere (login, bureau choice, forced password change), with a message if given."""

    def __init__(self, url: str, *, flash: str = "") -> None:
        self.url = url
        self.flash = flash


async def get_session() -> AsyncIterator[AsyncSession]:
    async with jobs_after_commit(), unit_of_work() as session:
        yield session


# Commit before the response is sent: a write that fails to commit must not be reported as done.
DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _authenticated_by_token_alone(request: Request) -> bool:
    """A script's request: a valid API token and no session cookie. Only such a request may skip CSRF; a bearer
    header (junk or not) beside a session cookie must not switch the check off (issue 14, finding 13)."""
    authorization = request.headers.get("authorization", "")
    if not authorization.startswith("Bearer ") or request.cookies.get(SESSION_COOKIE):
        return False
    async with unit_of_work() as session:
        return await accounts.token_is_known(session, authorization[7:].strip())


async def csrf_protect(request: Request) -> None:
    """Every unsafe request carries the token (form field or htmx header), unless a valid API token alone
    authenticates it (a script, which has no cookie a forged request could ride on)."""
    if request.method not in UNSAFE_METHODS or await _authenticated_by_token_alone(request):
        return
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        field = (await request.form()).get("csrf_token")
        sent = field if isinstance(field, str) else None  # a file under that name is no token
    seed = request.cookies.get(CSRF_COOKIE)
    if not seed or not isinstance(sent, str) or sent != sign("csrf:" + seed):
        page = same_site_page(request) if not request.url.path.startswith("/api/") else None
        if page is not None:
            # Our own page, older than the sign-in (another tab signed out and in again): nothing was done; back to
            # that page, where drafts.js puts back what was typed, with a word on why and what to do.
            raise RedirectTo(page, flash=_("页面已过期（可能您在其他窗口退出或重新登录过），刚才的提交没有保存。"
                                           "请检查本页填写的内容，再提交一次。"))
        raise Forbidden(_("页面已过期或来源无法验证（CSRF 校验失败）。请刷新页面后重新提交，已保存的内容不会丢失。"))


async def optional_web_session(request: Request, session: DbSession) -> tuple[WebSession, User] | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    loaded = await accounts.load_session(session, raw)
    if loaded:
        # Plain values: error pages render after a rollback has expired the ORM objects.
        request.state.user = SignedInUser(loaded[1].display_name, loaded[1].is_operator,
                                          sign(f"draft:{loaded[1].id}")[:16])
    return loaded


WebLogin = Annotated[tuple[WebSession, User] | None, Depends(optional_web_session)]


def return_to(request: Request) -> str | None:
    """The page to come back to after signing in: the page itself for a plain GET; for a form post or an htmx
    request, the page the person was on (its Referer or HX-Current-URL), never the post's own address."""
    if request.method in UNSAFE_METHODS or request.headers.get("hx-request"):
        page = same_site_page(request)
    else:
        page = request.url.path + ("?" + request.url.query if request.url.query else "")
    return page if page and page != "/" and is_safe_path(page) and not page.startswith("/login") else None


async def signed_in(request: Request, loaded: WebLogin) -> tuple[WebSession, User]:
    if loaded is None:
        query = {"expired": "1"} if request.cookies.get(SESSION_COOKIE) else {}
        if (page := return_to(request)) is not None:
            query["next"] = page
        raise RedirectTo("/login" + ("?" + urlencode(query) if query else ""))
    return loaded


SignedIn = Annotated[tuple[WebSession, User], Depends(signed_in)]


async def web_actor(request: Request, session: DbSession, login: SignedIn) -> Actor:
    web_session, user = login
    if user.must_change_password:
        raise RedirectTo("/account/password")
    if web_session.current_tenant_id is None:
        raise RedirectTo("/operator/tenants" if user.is_operator else "/choose-bureau")
    actor = await acting.actor_for(
        session, user, web_session.current_tenant_id, ip=client_ip(request),
        request_id=getattr(request.state, "request_id", None),
    )
    request.state.actor = actor
    return actor


async def web_operator(request: Request, login: SignedIn) -> Operator:
    _session, user = login
    if not user.is_operator:
        raise Forbidden(_("只有平台运维人员可以管理教育局。"))
    if user.must_change_password:
        raise RedirectTo("/account/password")
    return accounts.operator_for(user, ip=client_ip(request), request_id=getattr(request.state, "request_id", None))


async def api_actor(request: Request, session: DbSession) -> Actor:
    """Bearer token for scripts; a browser session works too (with its CSRF token on writes)."""
    authorization = request.headers.get("authorization", "")
    request_id = getattr(request.state, "request_id", None)
    if authorization.startswith("Bearer "):
        actor = await acting.actor_for_token(session, authorization[7:].strip(), ip=client_ip(request),
                                               request_id=request_id)
    else:
        loaded = await optional_web_session(request, session)
        if loaded is None or loaded[0].current_tenant_id is None or loaded[1].must_change_password:
            raise NotAuthenticated(_("请先登录，或在 Authorization 头中提供 API 令牌（Bearer）。"))
        actor = await acting.actor_for(session, loaded[1], loaded[0].current_tenant_id, ip=client_ip(request),
                                         request_id=request_id)
    request.state.actor = actor
    return actor


async def api_operator(request: Request, session: DbSession) -> Operator:
    loaded = await optional_web_session(request, session)
    if loaded is None:
        raise NotAuthenticated(_("请先登录。"))
    if not loaded[1].is_operator:
        raise Forbidden(_("只有平台运维人员可以管理教育局。"))
    return accounts.operator_for(loaded[1], ip=client_ip(request))


CurrentActor = Annotated[Actor, Depends(web_actor)]
CurrentOperator = Annotated[Operator, Depends(web_operator)]
ApiActor = Annotated[Actor, Depends(api_actor)]
ApiOperator = Annotated[Operator, Depends(api_operator)]


def session_cookie_kwargs() -> dict:
    settings = get_settings()
    return {"httponly": True, "samesite": "lax", "secure": settings.cookie_secure, "path": "/"}
