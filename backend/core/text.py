"""Text as people send it: invisible control characters taken out, and length limits told in the field's own words.

Control characters (NUL, ESC, BEL, …) are never meant: they come from copying out of other programs or from
scripts. PostgreSQL cannot store NUL, Excel and Word files cannot hold the others, and bidirectional overrides
(U+202E) make a name read differently from what it is ("报告gpj.exe" shown as "报告exe.jpg"). Line breaks and
tabs stay, and so does everything visible: emoji (with their joiners), traditional and simplified characters.
"""

import re

from backend.errors import InvalidInput
from backend.i18n import _

# C0 controls except tab, line feed and carriage return; DEL and the C1 controls; the bidirectional embeddings,
# overrides and isolates; and lone surrogates (no UTF-8 encodes them, so nothing could store them).
CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def without_controls(value: str) -> str:
    return CONTROLS.sub("", value)


def check_length(value: str, *, limit: int, label: str, field: str) -> str:
    """`value` if it has at most `limit` characters; otherwise InvalidInput naming the field and the limit."""
    if len(value) > limit:
        message = _("%(label)s不能超过 %(max)s 字（现在 %(n)s 字），请精简后再保存。", label=label, max=limit,
                    n=len(value))
        raise InvalidInput(message, field=field)
    return value
