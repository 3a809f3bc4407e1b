"""Accounts: passwords, login with throttling and lockout, browser sessions, API tokens, OIDC accounts."""

import logging
import math
import uuid
from datetime import timedelta

from redis.asyncio import Redis
from sqlmodel import col, delete, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.accounts.models import ApiToken, User, WebSession
from backend.accounts.policy import may_revoke_token
from backend.audit.service import record
from backend.config import get_settings
from backend.core import attempts, clock
from backend.core.actor import Actor, Operator
from backend.core.security import (
    check_password_rules,
    hash_password,
    new_token,
    token_hash,
    verify_password,
)
from backend.core.text import check_length
from backend.errors import Conflict, DomainError, InvalidInput, NotAuthenticated, NotFound, TooManyAttempts
from backend.i18n import N_, _

log = logging.getLogger(__name__)
WRONG_CREDENTIALS = N_("登录名或密码不正确。连续输错 %(n)s 次后账号将被锁定 %(m)s 分钟。")


def _clean_username(username: str) -> str:
    username = username.strip()
    if not username or len(username) > 50 or any(c.isspace() for c in username):
        raise InvalidInput(_("登录名为 1 到 50 个字符，不能包含空格。"), field="username")
    return username


async def create_user(
    session: AsyncSession, *, username: str, display_name: str, password: str | None = None,
    email: str | None = None, is_operator: bool = False, must_change_password: bool = False,
    oidc_subject: str | None = None,
) -> User:
    username = _clean_username(username)
    if password is not None:
        check_password_rules(password, username=username)
    with session.no_autoflush:
        taken = (await session.exec(select(User.id).where(User.username == username))).first()
    if taken is not None:
        raise Conflict(_("登录名“%(name)s”已被使用，请换一个。", name=username), field="username")
    user = User(
        username=username, display_name=display_name.strip()[:50] or username, email=email,
        password_hash=await hash_password(password) if password else None, is_operator=is_operator,
        must_change_password=must_change_password, password_changed_at=clock.now() if password else None,
        oidc_subject=oidc_subject,
    )
    session.add(user)
    await session.flush()
    return user


async def get_user_by_username(session: AsyncSession, username: str) -> User | None:
    return (await session.exec(select(User).where(User.username == username.strip()))).first()


# --- login -----------------------------------------------------------------------------------------------


def _lockout_message(seconds_left: float) -> TooManyAttempts:
    """The same words for a lock kept on the row and one kept in Redis (an unknown name): nothing tells them apart."""
    minutes = max(1, math.ceil(seconds_left / 60))
    return TooManyAttempts(
        _("账号因多次输错密码已被锁定，请 %(m)s 分钟后再试，或请管理员重置密码。", m=minutes)
    )


def login_counter(username: str) -> str:
    """The per-account failure counter, keyed by the login name as typed (known or not)."""
    return attempts.key("login-account", username.strip())


async def authenticate(
    session: AsyncSession, redis: Redis | None, *, username: str, password: str, ip: str
) -> User | DomainError:
    """Checks a password with per-address throttling and per-account lockout (等保: 登录失败处理).

    Both limits take their slot atomically BEFORE the password is verified (`backend.core.attempts`), so
    concurrent attempts cannot all pass a "still under the limit" check (issue 14, finding 5). If Redis is down the
    per-address limit is off and the per-account count falls back to the user's row, locked until commit.
    A failure is returned, not raised, so that the caller commits the failure count and audit event first."""
    settings = get_settings()
    lockout_seconds = settings.login_lockout_minutes * 60
    address = attempts.key("login-ip", ip)
    by_address = await attempts.take(redis, address, limit=settings.login_ip_max_failures,
                                     window_seconds=settings.login_ip_window_minutes * 60)
    if by_address.refused:
        return TooManyAttempts(
            _("此地址登录失败次数过多，请 %(m)s 分钟后再试。", m=settings.login_ip_window_minutes)
        )
    name = username.strip()
    user = await get_user_by_username(session, name) if name else None
    now = clock.now()
    # A locked account is answered only after a verify against the dummy hash, as an unknown name is, so neither
    # answers faster than a real check (issue 14, finding 12); the address slot stays taken, which bounds that work.
    if user is not None and user.locked_until and user.locked_until > now:
        await verify_password(None, password)
        return _lockout_message((user.locked_until - now).total_seconds())
    account = login_counter(name)
    by_account = await attempts.take(redis, account, limit=settings.login_max_failures,
                                     window_seconds=lockout_seconds)
    if by_account.refused:
        await verify_password(None, password)
        return _lockout_message(by_account.retry_after)
    if by_account.unavailable and user is not None:
        # No Redis: the row lock (held until this request commits) serialises attempts on this account.
        await session.refresh(user, with_for_update=True)
        if user.locked_until and user.locked_until > now:
            await verify_password(None, password)
            return _lockout_message((user.locked_until - now).total_seconds())
    ok = await verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        locked = False
        if user is None or ok is False:
            failures = by_account.slot if not by_account.unavailable else (user.failed_logins + 1 if user else 0)
            locked = failures >= settings.login_max_failures
            if locked:
                await attempts.hold(redis, account, seconds=lockout_seconds)
            if user is not None:
                user.failed_logins = 0 if locked else failures
                if locked:
                    user.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
                session.add(user)
        await record(session, None, "login.failed", summary=_("登录失败：%(name)s", name=username[:50]), ip=ip)
        if locked:
            return TooManyAttempts(
                _("密码连续输错 %(n)s 次，账号已锁定 %(m)s 分钟。", n=settings.login_max_failures,
                  m=settings.login_lockout_minutes)
            )
        return NotAuthenticated(
            _(WRONG_CREDENTIALS, n=settings.login_max_failures, m=settings.login_lockout_minutes), field="password"
        )
    await attempts.clear(redis, account)
    await attempts.give_back(redis, address)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.add(user)
    return user


async def change_password(
    session: AsyncSession, user: User, *, current: str, new: str, new_again: str
) -> None:
    if not await verify_password(user.password_hash, current):
        raise InvalidInput(_("当前密码不正确。"), field="current")
    if new != new_again:
        raise InvalidInput(_("两次输入的新密码不一致。"), field="new_again")
    if new == current:
        raise InvalidInput(_("新密码不能与当前密码相同。"), field="new")
    check_password_rules(new, username=user.username, field="new")
    user.password_hash = await hash_password(new)
    user.must_change_password = False
    user.password_changed_at = clock.now()
    session.add(user)
    await session.flush()


# --- bureaus a person may enter --------------------------------------------------------------------------


def operator_for(user: User, *, ip: str | None = None, request_id: str | None = None) -> Operator:
    return Operator(user_id=user.id, display_name=user.display_name, ip=ip, request_id=request_id)


# --- browser sessions ------------------------------------------------------------------------------------


async def start_session(
    session: AsyncSession, user: User, *, tenant_id: uuid.UUID | None, ip: str, user_agent: str,
    previous_token: str | None = None,
) -> tuple[str, WebSession]:
    """A fresh session id at every login (no fixation); the old one, if any, is ended. Returns the raw id."""
    if previous_token:
        await session.exec(delete(WebSession).where(col(WebSession.id) == token_hash(previous_token)))
    raw = new_token()
    web_session = WebSession(id=token_hash(raw), user_id=user.id, current_tenant_id=tenant_id, ip=ip,
                             user_agent=user_agent[:300])
    session.add(web_session)
    await session.flush()
    return raw, web_session


async def load_session(session: AsyncSession, raw: str) -> tuple[WebSession, User] | None:
    """The session and its user, or None when unknown or past its idle or absolute timeout."""
    settings = get_settings()
    row = (await session.exec(
        select(WebSession, User).join(User, col(User.id) == WebSession.user_id)
        .where(WebSession.id == token_hash(raw))
    )).first()
    if row is None:
        return None
    web_session, user = row
    now = clock.now()
    expired = (
        now - web_session.last_seen_at > timedelta(minutes=settings.session_idle_minutes)
        or now - web_session.created_at > timedelta(hours=settings.session_absolute_hours)
        or not user.is_active
    )
    if expired:
        await session.delete(web_session)
        return None
    if now - web_session.last_seen_at > timedelta(seconds=60):
        web_session.last_seen_at = now
        session.add(web_session)
    return web_session, user


async def purge_expired_sessions(session: AsyncSession) -> int:
    """Sessions past their idle or absolute limit can never be used again; drop them."""
    settings = get_settings()
    now = clock.now()
    result = await session.exec(delete(WebSession).where(
        (col(WebSession.last_seen_at) < now - timedelta(minutes=settings.session_idle_minutes))
        | (col(WebSession.created_at) < now - timedelta(hours=settings.session_absolute_hours))
    ))
    return result.rowcount


async def end_session(session: AsyncSession, raw: str) -> None:
    await session.exec(delete(WebSession).where(col(WebSession.id) == token_hash(raw)))


# --- API tokens ------------------------------------------------------------------------------------------


async def create_api_token(session: AsyncSession, actor: Actor, *, name: str) -> tuple[ApiToken, str]:
    """The raw token is returned once; only its hash is kept."""
    name = name.strip()
    if not name:
        raise InvalidInput(_("请为令牌起个名字，说明它的用途，例如“数据同步脚本”。"), field="name")
    check_length(name, limit=100, label=_("令牌名称"), field="name")
    raw = new_token("lsk_")
    now = clock.now()
    token = ApiToken(tenant_id=actor.tenant_id, membership_id=actor.membership_id, name=name,
                     token_hash=token_hash(raw), prefix=raw[:10], created_at=now,
                     expires_at=now + timedelta(days=get_settings().api_token_valid_days))
    session.add(token)
    await session.flush()
    await record(session, actor, "token.create", object_type="api_token", object_id=token.id,
                 summary=_("创建 API 令牌“%(name)s”", name=token.name))
    return token, raw


async def list_api_tokens(session: AsyncSession, actor: Actor) -> list[ApiToken]:
    query = (
        select(ApiToken).where(ApiToken.membership_id == actor.membership_id)
        .order_by(col(ApiToken.created_at).desc())
    )
    return list((await session.exec(query)).all())


async def revoke_api_token(session: AsyncSession, actor: Actor, token_id: uuid.UUID) -> ApiToken:
    token = await session.get(ApiToken, token_id)
    if token is None or not may_revoke_token(actor, token):
        raise NotFound(_("找不到该令牌。"))
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        session.add(token)
        await session.flush()
        await record(session, actor, "token.revoke", object_type="api_token", object_id=token.id,
                     summary=_("吊销 API 令牌“%(name)s”", name=token.name))
    return token


async def token_is_known(session: AsyncSession, raw: str) -> bool:
    """Whether a raw token is an unrevoked API token of some bureau (one indexed lookup, no tenant needed)."""
    if not raw or len(raw) > 200:
        return False
    return (await session.exec(select(func.luoshi_token_tenant(token_hash(raw))))).one() is not None


# --- OIDC ------------------------------------------------------------------------------------------------


def oidc_verified_email(claims: dict) -> str | None:
    """The e-mail of an OIDC identity only when the provider asserts it verified (`email_verified` is JSON true).

    A missing claim, `false`, or a string such as "true" is not a verification: a provider that leaves the claim
    out would otherwise let anyone who types an address become the account holding it (issue 14, finding 2)."""
    email = claims.get("email")
    if claims.get("email_verified") is not True or not isinstance(email, str) or not email.strip():
        return None
    return email.strip()


async def user_for_oidc(session: AsyncSession, *, issuer: str, subject: str, claims: dict) -> User:
    """An OIDC login maps to an account the bureau already opened: by (issuer, subject), else once by a verified
    e-mail (`oidc_verified_email`). Nothing else links an identity to an account."""
    key = f"{issuer}|{subject}"
    user = (await session.exec(select(User).where(User.oidc_subject == key))).first()
    email = oidc_verified_email(claims)
    if user is None and email:
        user = (await session.exec(
            select(User).where(func.lower(User.email) == email.lower(), col(User.oidc_subject).is_(None))
        )).first()
        if user is not None:
            user.oidc_subject = key
            session.add(user)
    if user is None or not user.is_active:
        raise NotFound(_("统一身份认证已通过，但本系统中没有与之对应的账号。请联系本局管理员开通。"))
    user.last_login_at = clock.now()
    session.add(user)
    await session.flush()
    return user


async def bind_oidc(session: AsyncSession, user: User, *, issuer: str, subject: str) -> User:
    """An explicit binding by the signed-in person: their account to this (issuer, subject), whatever the e-mail.
    An identity already bound to someone else stays theirs."""
    if not issuer or not subject:
        raise InvalidInput(_("统一身份认证未返回身份标识，无法绑定。"))
    key = f"{issuer}|{subject}"
    owner = (await session.exec(select(User.id).where(User.oidc_subject == key))).first()
    if owner is not None and owner != user.id:
        raise Conflict(_("该统一身份认证账号已绑定本系统的另一个账号。如需更换，请联系本局管理员。"))
    user.oidc_subject = key
    session.add(user)
    await session.flush()
    await record(session, None, "account.oidc_bind", summary=_("%(name)s 绑定统一身份认证", name=user.display_name))
    return user


