"""Every route of the app, called by each role of a bureau on that bureau's own objects: a role without the right
is refused and changes nothing.

The routes are read from the app (tests/support/routes.py), so a route added later is swept without touching this
file, and there is no table of who may call what: while each request runs, `Actor.can` (and so `Actor.require`)
and every `Forbidden` are recorded, and the bureau's tables are hashed before and after. The judge then holds each
call to these rules:

- a refused call (a permission check said no, or a service raised Forbidden) answers 403 or 404, changes nothing
  and, for a page or a download, shows none of the text of the object it aimed at;
- a call that changes rows other than the member's own (their notification settings, tokens, notifications and
  audit trail) must have passed a permission check that not every role passes, or be made through a route that
  refused some other role (services that check the role or the unit themselves, e.g. who decides an extension);
  a service that forgets every check on a route that changes data is caught whoever calls it;
- a unit role (the school's head and staff) changes no row of another unit, except through the few cooperation
  routes listed below: the aimed objects are the office's (the whole-loop task is led by the office, the school
  only cooperates), so a service that checks the role but not the unit is caught too;
- nothing answers 5xx, and no GET changes anything.

Requests are filled as the pages fill them: the forms the bureau's pages show its admin and supervisor are read
first, and a body's `version` is the aimed object's current one, so that calls get past input checks to the
permission checks. Each role sweeps its own fresh bureau, so what an admin may do (deactivate a member, delete a
unit) never hides a refusal from a later role.
"""
