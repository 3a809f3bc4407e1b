"""Home, the unit tree, people and roles, invitations, and the operator's bureau list."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from backend.config import get_settings
from backend.core import once
from backend.core.feedback import done
from backend.core.forms import form_error, see_other, unless_correctable
from backend.core.roles import Role, role_label
from backend.core.templating import render
from backend.deps import ApiActor, ApiOperator, CurrentActor, CurrentOperator, DbSession
from backend.errors import DomainError, InvalidInput
from backend.i18n import _
from backend.tasks import unit_removal
from backend.tenancy import service as tenancy
from backend.tenancy.models import UnitKind, unit_kind_label
from backend.tenancy.schemas import (
    InvitationIn,
    InvitationPublic,
    MemberPublic,
    MemberUpdate,
    TenantCreated,
    TenantIn,
    TenantPublic,
    UnitIn,
    UnitPublic,
)
from backend.todo import service as todo

pages = APIRouter(tags=["tenancy"], include_in_schema=False)
api = APIRouter(tags=["tenancy"])


def _optional_uuid(value: str | None, field: str = "unit_id") -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise InvalidInput(_("所选单位无效，请重新选择。"), field=field) from exc


def _labels() -> dict:
    return {
        "role_label": role_label, "unit_kind_label": unit_kind_label,
        "roles": list(Role), "unit_kinds": list(UnitKind),
    }


@pages.get("/")
async def home(request: Request, session: DbSession, actor: CurrentActor, year: str = ""):
    return render(request, "tenancy/home.html", {"home": await todo.home(session, actor, year=year)})


# --- units -----------------------------------------------------------------------------------------------


async def _units_context(session, actor) -> dict:
    return {"nodes": await tenancy.units_to_manage(session, actor), **_labels()}


@pages.get("/admin/units")
async def units_page(request: Request, session: DbSession, actor: CurrentActor):
    return render(request, "tenancy/units.html", await _units_context(session, actor))


@pages.post("/admin/units")
async def create_unit_page(
    request: Request, session: DbSession, actor: CurrentActor, name: Annotated[str, Form()] = "",
    kind: Annotated[UnitKind, Form()] = UnitKind.office, parent_id: Annotated[str, Form()] = "",
    form_key: Annotated[str, Form()] = "",
):
    if (earlier := await once.earlier_page(request, session, actor, form_key)) is not None:
        return earlier
    try:
        parent = _optional_uuid(parent_id, "parent_id")
        unit = await tenancy.create_unit(session, actor, name=name, kind=kind, parent_id=parent)
    except DomainError as error:
        if error.status_code == 403:
            raise
        return form_error(request, "tenancy/units.html", error,
                          {"name": name, "kind": kind, "parent_id": parent_id}, await _units_context(session, actor))
    await once.settle(session, actor, form_key, location="/admin/units")
    return done(request, "/admin/units", _("已添加单位“%(name)s”。", name=unit.name))


@pages.get("/admin/units/{unit_id}")
async def edit_unit_page(request: Request, session: DbSession, actor: CurrentActor, unit_id: uuid.UUID):
    unit = await tenancy.unit_to_edit(session, actor, unit_id)
    values = {"name": unit.name, "kind": unit.kind, "parent_id": str(unit.parent_id or "")}
    return render(request, "tenancy/unit_edit.html", {"unit": unit, "values": values,
                                                      **await _units_context(session, actor)})


@pages.post("/admin/units/{unit_id}")
async def update_unit_page(
    request: Request, session: DbSession, actor: CurrentActor, unit_id: uuid.UUID,
    name: Annotated[str, Form()] = "", kind: Annotated[UnitKind, Form()] = UnitKind.office,
    parent_id: Annotated[str, Form()] = "",
):
    try:
        parent = _optional_uuid(parent_id, "parent_id")
        unit = await tenancy.update_unit(session, actor, unit_id, name=name, kind=kind, parent_id=parent)
    except DomainError as error:
        unless_correctable(error)
        unit = await tenancy.get_unit(session, actor, unit_id)
        return form_error(request, "tenancy/unit_edit.html", error,
                          {"name": name, "kind": kind, "parent_id": parent_id},
                          {"unit": unit, **await _units_context(session, actor)})
    return done(request, "/admin/units", _("已保存单位“%(name)s”。", name=unit.name))


@pages.post("/admin/units/{unit_id}/delete")
async def delete_unit_page(request: Request, session: DbSession, actor: CurrentActor, unit_id: uuid.UUID):
    await unit_removal.delete_unit(session, actor, unit_id)
    return done(request, "/admin/units", _("已删除该单位。"))


# --- members ---------------------------------------------------------------------------------------------


async def _members_context(session, actor) -> dict:
    return {
        "members": await tenancy.list_members(session, actor),
        "invitations": await tenancy.invitations_shown(session, actor),
        "nodes": await tenancy.list_units(session, actor), **_labels(),
    }


@pages.get("/admin/members")
async def members_page(request: Request, session: DbSession, actor: CurrentActor):
    return render(request, "tenancy/members.html", await _members_context(session, actor))


@pages.post("/admin/members/invite")
async def invite_page(
    request: Request, session: DbSession, actor: CurrentActor, display_name: Annotated[str, Form()] = "",
    role: Annotated[Role, Form()] = Role.unit_staff, unit_id: Annotated[str, Form()] = "",
    form_key: Annotated[str, Form()] = "",
):
    if (earlier := await once.earlier_page(request, session, actor, form_key)) is not None:
        return earlier  # the invitation was made; its link was shown once, on the first answer
    values = {"display_name": display_name, "role": role, "unit_id": unit_id}
    try:
        _invitation, raw = await tenancy.invite(session, actor, display_name=display_name, role=role,
                                                unit_id=_optional_uuid(unit_id))
    except DomainError as error:
        if error.status_code == 403:
            raise
        return form_error(request, "tenancy/members.html", error, values, await _members_context(session, actor))
    link = get_settings().base_url.rstrip("/") + "/invite/" + raw
    await once.settle(session, actor, form_key, location="/admin/members")
    return render(request, "tenancy/members.html",
                  {"invite_link": link, "invited_name": display_name, **await _members_context(session, actor)})


@pages.post("/admin/invitations/{invitation_id}/revoke")
async def revoke_invitation_page(request: Request, session: DbSession, actor: CurrentActor,
                                 invitation_id: uuid.UUID):
    await tenancy.revoke_invitation(session, actor, invitation_id)
    return done(request, "/admin/members", _("已撤销邀请，该邀请链接不能再使用。"))


@pages.post("/admin/members/{membership_id}/role")
async def change_role_page(
    request: Request, session: DbSession, actor: CurrentActor, membership_id: uuid.UUID,
    role: Annotated[Role, Form()], unit_id: Annotated[str, Form()] = "",
):
    try:
        row = await tenancy.change_role(session, actor, membership_id, role=role, unit_id=_optional_uuid(unit_id))
    except DomainError as error:
        unless_correctable(error)
        error.field = None  # the member's own form is folded away: say it at the top of the page
        return form_error(request, "tenancy/members.html", error, {}, await _members_context(session, actor))
    return done(request, "/admin/members", _("已把%(name)s的角色改为%(role)s。", name=row.user.display_name,
                                             role=role_label(row.membership.role)))


@pages.post("/admin/members/{membership_id}/deactivate")
async def deactivate_page(request: Request, session: DbSession, actor: CurrentActor, membership_id: uuid.UUID):
    row = await tenancy.set_member_active(session, actor, membership_id, active=False)
    return done(request, "/admin/members", _("已停用%(name)s的账号，对方不能再进入本局。", name=row.user.display_name))


@pages.post("/admin/members/{membership_id}/activate")
async def activate_page(request: Request, session: DbSession, actor: CurrentActor, membership_id: uuid.UUID):
    row = await tenancy.set_member_active(session, actor, membership_id, active=True)
    return done(request, "/admin/members", _("已恢复%(name)s的账号。", name=row.user.display_name))


@pages.post("/admin/members/{membership_id}/reset-password")
async def reset_password_page(request: Request, session: DbSession, actor: CurrentActor, membership_id: uuid.UUID):
    password = await tenancy.reset_password(session, actor, membership_id)
    row = await tenancy.get_member(session, actor, membership_id)
    return render(request, "tenancy/members.html", {
        "reset_for": row.user.display_name, "reset_username": row.user.username, "reset_password": password,
        **await _members_context(session, actor),
    })


# --- invitations (the invitee, not signed in) ------------------------------------------------------------


@pages.get("/invite/{token}")
async def invitation_page(request: Request, session: DbSession, token: str):
    invitation, tenant = await tenancy.open_invitation(session, token)
    return render(request, "tenancy/invitation.html", {"invitation": invitation, "tenant": tenant, **_labels()})


@pages.post("/invite/{token}")
async def accept_invitation_page(
    request: Request, session: DbSession, token: str, username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "", password_again: Annotated[str, Form()] = "",
):
    try:
        await tenancy.accept_invitation(session, token, username=username, password=password,
                                        password_again=password_again)
    except DomainError as error:
        if error.status_code == 404:
            raise
        invitation, tenant = await tenancy.open_invitation(session, token)
        return form_error(request, "tenancy/invitation.html", error, {"username": username},
                          {"invitation": invitation, "tenant": tenant, **_labels()})
    return see_other(request, "/login?joined=1")


# --- operator --------------------------------------------------------------------------------------------


@pages.get("/operator/tenants")
async def tenants_page(request: Request, session: DbSession, operator: CurrentOperator):
    return render(request, "tenancy/tenants.html", {"tenants": await tenancy.list_tenants(session, operator)})


@pages.post("/operator/tenants")
async def create_tenant_page(
    request: Request, session: DbSession, operator: CurrentOperator, name: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "", admin_name: Annotated[str, Form()] = "",
    admin_username: Annotated[str, Form()] = "",
):
    values = {"name": name, "code": code, "admin_name": admin_name, "admin_username": admin_username}
    try:
        tenant, password = await tenancy.open_bureau(
            session, operator, name=name, code=code, admin_name=admin_name, admin_username=admin_username
        )
    except DomainError as error:
        return form_error(request, "tenancy/tenants.html", error, values,
                          {"tenants": await tenancy.list_tenants(session, operator)})
    return render(request, "tenancy/tenants.html", {
        "tenants": await tenancy.list_tenants(session, operator), "created": tenant,
        "admin_username": admin_username.strip(), "admin_password": password,
    })


# --- API -------------------------------------------------------------------------------------------------


@api.get("/units", response_model=list[UnitPublic])
async def api_units(session: DbSession, actor: ApiActor):
    return [UnitPublic.model_validate(n) for n in await tenancy.list_units(session, actor)]


@api.post("/units", response_model=UnitPublic, status_code=201)
async def api_create_unit(request: Request, session: DbSession, actor: ApiActor, body: UnitIn):
    if (earlier := await once.earlier_answer(request, session, actor)) is not None:
        return earlier
    unit = await tenancy.create_unit(session, actor, name=body.name, kind=body.kind, parent_id=body.parent_id)
    made = UnitPublic.model_validate(unit)
    await once.settle(session, actor, request.headers.get(once.HEADER), status_code=201, body=made)
    return made


@api.put("/units/{unit_id}", response_model=UnitPublic)
async def api_update_unit(session: DbSession, actor: ApiActor, unit_id: uuid.UUID, body: UnitIn):
    unit = await tenancy.update_unit(session, actor, unit_id, name=body.name, kind=body.kind, parent_id=body.parent_id)
    return UnitPublic.model_validate(unit)


@api.delete("/units/{unit_id}", status_code=204)
async def api_delete_unit(session: DbSession, actor: ApiActor, unit_id: uuid.UUID):
    await unit_removal.delete_unit(session, actor, unit_id)
    return Response(status_code=204)


@api.get("/members", response_model=list[MemberPublic])
async def api_members(session: DbSession, actor: ApiActor):
    return [MemberPublic.model_validate(row) for row in await tenancy.list_members(session, actor)]


@api.put("/members/{membership_id}", response_model=MemberPublic)
async def api_update_member(session: DbSession, actor: ApiActor, membership_id: uuid.UUID, body: MemberUpdate):
    return MemberPublic.model_validate(await tenancy.change_role(session, actor, membership_id, role=body.role,
                                                                 unit_id=body.unit_id))


@api.post("/members/{membership_id}/deactivate", response_model=MemberPublic)
async def api_deactivate_member(session: DbSession, actor: ApiActor, membership_id: uuid.UUID):
    return MemberPublic.model_validate(await tenancy.set_member_active(session, actor, membership_id, active=False))


@api.post("/invitations", response_model=InvitationPublic, status_code=201)
async def api_invite(request: Request, session: DbSession, actor: ApiActor, body: InvitationIn):
    if (earlier := await once.earlier_answer(request, session, actor)) is not None:
        return earlier  # the link is a secret shown once: the replay says which invitation, without it
    invitation, raw = await tenancy.invite(session, actor, display_name=body.display_name, role=body.role,
                                           unit_id=body.unit_id)
    await once.settle(session, actor, request.headers.get(once.HEADER), status_code=201,
                      body={"id": invitation.id, "link": ""})
    return InvitationPublic(id=invitation.id, link=get_settings().base_url.rstrip("/") + "/invite/" + raw)


@api.get("/tenants", response_model=list[TenantPublic])
async def api_tenants(session: DbSession, operator: ApiOperator):
    return [TenantPublic.model_validate(t) for t in await tenancy.list_tenants(session, operator)]


@api.post("/tenants", response_model=TenantCreated, status_code=201)
async def api_create_tenant(session: DbSession, operator: ApiOperator, body: TenantIn):
    tenant, password = await tenancy.open_bureau(session, operator, name=body.name, code=body.code,
                                                 admin_name=body.admin_name, admin_username=body.admin_username)
    return TenantCreated(**TenantPublic.model_validate(tenant).model_dump(), admin_username=body.admin_username.strip(),
                         admin_password=password)


