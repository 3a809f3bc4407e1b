"""How an API schema is built from what a service returns, so no route copies fields one by one.

A service returns either a table row or a view: a small dataclass holding the row (`report`) beside what was
looked up for it (the unit's name, a count). A schema of a row says `model_config = FROM_ROW`; a schema of a view
says `model_config = from_view("report")` and each of its fields is read from the view when the view has it, else
from the row. Either way the route writes `Schema.model_validate(row_or_view)`.

Only validation aliases are set, so the OpenAPI document (built in serialization mode for answers) and the JSON
keys are the field names as written.
"""

from pydantic import AliasChoices, AliasGenerator, AliasPath, ConfigDict

FROM_ROW = ConfigDict(from_attributes=True)


def from_view(*rows: str) -> ConfigDict:
    """A schema read from a view: a field is the view's own attribute, or else the same name on `rows` in order."""
    return ConfigDict(from_attributes=True, alias_generator=AliasGenerator(
        validation_alias=lambda name: AliasChoices(name, *(AliasPath(row, name) for row in rows))))
