"""The five roles a member of a bureau has: shared by the permission table (core/actor.py), every domain's rules
and the templates, so they live below every domain."""

import enum

from backend.i18n import N_, _


class Role(enum.StrEnum):
    admin = "admin"
    supervisor = "supervisor"
    leader = "leader"
    unit_head = "unit_head"
    unit_staff = "unit_staff"

    @property
    def needs_unit(self) -> bool:
        return self in (Role.unit_head, Role.unit_staff)


ROLE_LABELS = {
    Role.admin: N_("系统管理员"),
    Role.supervisor: N_("督查督办人员"),
    Role.leader: N_("局领导"),
    Role.unit_head: N_("单位负责人"),
    Role.unit_staff: N_("经办人"),
}


def role_label(role: Role | str) -> str:
    return _(ROLE_LABELS[Role(role)])
