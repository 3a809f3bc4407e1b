"""Login, logout, bureau choice, password change, OIDC, language and API tokens."""

import secrets
import uuid
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts import oidc
from backend.accounts import service as accounts
from backend.accounts.models import User
from backend.accounts.schemas import MePublic, TokenCreate, TokenCreated, TokenPublic
from backend.config import get_settings
from backend.core import once
from backend.core.feedback import done
from backend.core.forms import form_error, safe_next, see_other
from backend.core.redis import get_redis
from backend.core.templating import render
from backend.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    ApiActor,
    CurrentActor,
    DbSession,
    SignedIn,
    WebLogin,
    client_ip,
    session_cookie_kwargs,
)
from backend.errors import DomainError, InvalidInput, ServiceUnavailable
from backend.i18n import LANGUAGES, _
from backend.tenancy import acting
from backend.tenancy.service import role_label

pages = APIRouter(tags=["accounts"], include_in_schema=False)
api = APIRouter(tags=["accounts"])


def _signed_in_response(request: Request, raw_session: str, url: str) -> Response:
    response = see_other(request, url)
    response.set_cookie(SESSION_COOKIE, raw_session, **session_cookie_kwargs())
    # A new CSRF seed too: nothing from before the login keeps working after it.
    response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(24), **session_cookie_kwargs())
    return response


async def _after_login(
    request: Request, session: AsyncSession, user: User, next_url: str | None
) -> Response:
    """One bureau: straight in, to `next_url` (the page the person was on when the sign-in lapsed) if it is one of
    ours; several: choose, then go there; none: say so (operators go to their bureau list)."""
    bureaus = await acting.bureaus_of(session, user)
    tenant_id = bureaus[0].tenant.id if len(bureaus) == 1 else None
    raw, web_session = await accounts.start_session(
        session, user, tenant_id=tenant_id, ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""), previous_token=request.cookies.get(SESSION_COOKIE),
    )
    if tenant_id is not None:
        await acting.choose_bureau(session, web_session, user, tenant_id)
    if user.must_change_password:
        target = "/account/password"
    elif tenant_id is not None:
        target = safe_next(next_url)
    elif bureaus:
        back = safe_next(next_url, "")
        target = "/choose-bureau" + ("?" + urlencode({"next": back}) if back else "")
    elif user.is_operator:
        target = "/operator/tenants"
    else:
        target = "/choose-bureau"
    return _signed_in_response(request, raw, target)


@pages.get("/login")
async def login_page(request: Request, expired: int = 0, next: str | None = None):
    notice = _("登录已超时，为了安全请重新登录。") if expired else None
    return render(request, "accounts/login.html", {
        "notice": notice, "next": safe_next(next, ""), "oidc_enabled": get_settings().oidc_enabled,
        "oidc_name": get_settings().oidc_display_name,
    })


@pages.post("/login")
async def login(
    request: Request, session: DbSession, username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "",
):
    context = {"next": safe_next(next, ""), "oidc_enabled": get_settings().oidc_enabled,
               "oidc_name": get_settings().oidc_display_name}
    if not username.strip() or not password:
        error = InvalidInput(_("请填写登录名和密码。"), field="username" if not username.strip() else "password")
        return form_error(request, "accounts/login.html", error, {"username": username}, context)
    outcome = await accounts.authenticate(
        session, get_redis(), username=username, password=password, ip=client_ip(request)
    )
    if isinstance(outcome, DomainError):
        return form_error(request, "accounts/login.html", outcome, {"username": username}, context)
    return await _after_login(request, session, outcome, next)


@pages.post("/logout")
async def logout(request: Request, session: DbSession, login: WebLogin):
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        await accounts.end_session(session, raw)
    response = see_other(request, "/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@pages.get("/choose-bureau")
async def choose_bureau_page(request: Request, session: DbSession, login: SignedIn, next: str = ""):
    _web_session, user = login
    bureaus = await acting.bureaus_of(session, user)
    return render(request, "accounts/choose_bureau.html",
                  {"bureaus": bureaus, "role_label": role_label, "next": safe_next(next, "")})


@pages.post("/choose-bureau")
async def choose_bureau(request: Request, session: DbSession, login: SignedIn,
                        tenant_id: Annotated[uuid.UUID, Form()], next: Annotated[str, Form()] = ""):
    web_session, user = login
    await acting.choose_bureau(session, web_session, user, tenant_id)
    return see_other(request, safe_next(next))


@pages.get("/account/password")
async def password_page(request: Request, login: SignedIn):
    return render(request, "accounts/password.html", {"forced": login[1].must_change_password})


@pages.post("/account/password")
async def change_password(
    request: Request, session: DbSession, login: SignedIn, current: Annotated[str, Form()] = "",
    new: Annotated[str, Form()] = "", new_again: Annotated[str, Form()] = "",
):
    _web_session, user = login
    try:
        await accounts.change_password(session, user, current=current, new=new, new_again=new_again)
    except InvalidInput as error:
        return form_error(request, "accounts/password.html", error, {}, {"forced": user.must_change_password})
    return await _after_login(request, session, user, "/")


@pages.post("/lang")
async def set_language(request: Request, lang: Annotated[str, Form()], next: Annotated[str, Form()] = "/"):
    response = see_other(request, safe_next(next))
    if lang in LANGUAGES:
        response.set_cookie("luoshi_lang", lang, max_age=365 * 86400, samesite="lax", path="/")
    return response


def _require_oidc() -> None:
    if not get_settings().oidc_enabled:
        raise InvalidInput(_("本系统未启用统一身份认证登录，请使用账号密码登录。"))


@pages.get("/auth/oidc/login")
async def oidc_login(request: Request, next: str = ""):
    _require_oidc()
    redirect_uri = get_settings().base_url.rstrip("/") + "/auth/oidc/callback"
    # Where to return after the provider: kept in the signed, short-lived OIDC cookie beside the state.
    request.session["next"] = safe_next(next, "")
    try:
        return await oidc.client().authorize_redirect(request, redirect_uri)
    except oidc.ProviderUnreachable as exc:
        raise ServiceUnavailable(_("统一身份认证服务暂时无法访问，请稍后重试，或使用账号密码登录。")) from exc


@pages.get("/auth/oidc/callback")
async def oidc_callback(request: Request, session: DbSession, login: WebLogin):
    _require_oidc()
    from authlib.integrations.base_client.errors import OAuthError
    from joserfc.errors import JoseError

    try:
        token = await oidc.client().authorize_access_token(request)
    except (OAuthError, JoseError) as exc:
        # JoseError: the id_token failed verification (signature, iss, aud, nonce, exp) — refuse, do not crash.
        raise InvalidInput(_("统一身份认证未完成（%(reason)s），请重新登录。", reason=exc.error)) from exc
    except oidc.ProviderUnreachable as exc:
        raise ServiceUnavailable(_("统一身份认证服务暂时无法访问，请稍后重试，或使用账号密码登录。")) from exc
    claims = token.get("userinfo") or {}
    issuer, subject = str(claims.get("iss", "")), str(claims.get("sub", ""))
    if (binding := request.session.pop("bind_user", None)) is not None:
        # An explicit binding the signed-in person started (POST with CSRF) in this browser: only to themselves.
        if login is None or str(login[1].id) != binding:
            raise InvalidInput(_("绑定未完成：请先用本系统账号登录，再绑定统一身份认证。"))
        await accounts.bind_oidc(session, login[1], issuer=issuer, subject=subject)
        return done(request, "/account/tokens", _("已绑定统一身份认证，以后可以用它登录本系统。"))
    user = await accounts.user_for_oidc(session, issuer=issuer, subject=subject, claims=dict(claims))
    return await _after_login(request, session, user, request.session.pop("next", None) or "/")


@pages.post("/account/oidc/bind")
async def oidc_bind(request: Request, login: SignedIn):
    """The signed-in person links their own account to their 统一身份认证 identity (a POST, so that no other site
    can start it: a forced binding would let whoever is signed in at the provider sign in here as them)."""
    _require_oidc()
    request.session["bind_user"] = str(login[1].id)
    redirect_uri = get_settings().base_url.rstrip("/") + "/auth/oidc/callback"
    try:
        response = await oidc.client().authorize_redirect(request, redirect_uri)
    except oidc.ProviderUnreachable as exc:
        raise ServiceUnavailable(_("统一身份认证服务暂时无法访问，请稍后重试。")) from exc
    response.status_code = 303
    return response


def _tokens_context(tokens, **extra) -> dict:
    return {"tokens": tokens, "oidc_enabled": get_settings().oidc_enabled,
            "oidc_name": get_settings().oidc_display_name, **extra}


@pages.get("/account/tokens")
async def tokens_page(request: Request, session: DbSession, actor: CurrentActor):
    return render(request, "accounts/tokens.html", _tokens_context(await accounts.list_api_tokens(session, actor)))


@pages.post("/account/tokens")
async def create_token_page(request: Request, session: DbSession, actor: CurrentActor,
                            name: Annotated[str, Form()] = "", form_key: Annotated[str, Form()] = ""):
    if (earlier := await once.earlier_page(request, session, actor, form_key)) is not None:
        return earlier  # made already; its secret was shown once, on the first answer
    try:
        _token, raw = await accounts.create_api_token(session, actor, name=name)
    except InvalidInput as error:
        return form_error(request, "accounts/tokens.html", error, {"name": name},
                          _tokens_context(await accounts.list_api_tokens(session, actor)))
    await once.settle(session, actor, form_key, location="/account/tokens")
    return render(request, "accounts/tokens.html",
                  _tokens_context(await accounts.list_api_tokens(session, actor), new_token=raw))


@pages.post("/account/tokens/{token_id}/revoke")
async def revoke_token_page(request: Request, session: DbSession, actor: CurrentActor, token_id: uuid.UUID):
    await accounts.revoke_api_token(session, actor, token_id)
    return done(request, "/account/tokens", _("已吊销该令牌，使用它的脚本将不能再访问。"))


# --- API -------------------------------------------------------------------------------------------------


@api.get("/me", response_model=MePublic)
async def me(actor: ApiActor):
    return MePublic.model_validate(actor)


@api.get("/tokens", response_model=list[TokenPublic])
async def api_list_tokens(session: DbSession, actor: ApiActor):
    return [TokenPublic.model_validate(t) for t in await accounts.list_api_tokens(session, actor)]


@api.post("/tokens", response_model=TokenCreated, status_code=201)
async def api_create_token(request: Request, session: DbSession, actor: ApiActor, body: TokenCreate):
    if (earlier := await once.earlier_answer(request, session, actor)) is not None:
        return earlier  # the secret is shown once: the replay names the same token, without it
    token, raw = await accounts.create_api_token(session, actor, name=body.name)
    made = TokenCreated(**TokenPublic.model_validate(token).model_dump(), token=raw)
    await once.settle(session, actor, request.headers.get(once.HEADER), status_code=201,
                      body=made.model_copy(update={"token": ""}))
    return made


@api.delete("/tokens/{token_id}", status_code=204)
async def api_revoke_token(session: DbSession, actor: ApiActor, token_id: uuid.UUID):
    await accounts.revoke_api_token(session, actor, token_id)
    return Response(status_code=204)
