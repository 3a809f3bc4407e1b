"""Routes parse, call one service and render: no route decides who may do what. Permissions live in each domain's
policy.py and its services call them, so the role sweep's findings have one place to be fixed."""

import ast
from pathlib import Path

BACKEND = Path(__file__).resolve().parents[2] / "backend"


def _role_checks(source: str) -> list[str]:
    """Each `.require(...)`/`.can(...)` call, comparison of a `.role`, and import of a policy module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("require", "can"):
            found.append(f"line {node.lineno}: .{node.func.attr}(...)")
        elif isinstance(node, ast.Compare) and any(isinstance(side, ast.Attribute) and side.attr == "role"
                                                   for side in (node.left, *node.comparators)):
            found.append(f"line {node.lineno}: compares .role")
        elif isinstance(node, ast.ImportFrom) and node.module and (
                node.module.endswith(".policy") or any(alias.name == "policy" for alias in node.names)):
            found.append(f"line {node.lineno}: imports a policy")
    return found


def test_no_routes_module_checks_roles():
    modules = sorted(BACKEND.glob("*/routes.py"))
    assert len(modules) > 10
    offenders = {str(path.relative_to(BACKEND)): found for path in modules
                 if (found := _role_checks(path.read_text(encoding="utf-8")))}
    assert offenders == {}, "routes decide permissions themselves; move the check into the service they call"


def test_the_check_sees_each_kind_of_role_check():
    """The scan itself can fail: each way a route could check a role is found."""
    source = '''
async def page(actor):
    actor.require("units.manage")
    if actor.can("tasks.assign") or actor.role == "unit_head" or view.actor.role in ROLES:
        pass
from backend.tasks import policy
from backend.reports.policy import is_reviewer
'''
    assert sorted(_role_checks(source)) == ["line 3: .require(...)", "line 4: .can(...)", "line 4: compares .role",
                                            "line 4: compares .role", "line 6: imports a policy",
                                            "line 7: imports a policy"]
