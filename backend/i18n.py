"""Translations. Source strings are written in Simplified Chinese (the default UI language); other languages
are Babel .po catalogues under backend/locale, read at start-up (no compile step, nothing binary in git)."""

from contextvars import ContextVar
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LOCALE = "zh_Hans"
LANGUAGES = {"zh_Hans": "简体中文", "en": "English"}

_current: ContextVar[str] = ContextVar("locale", default=DEFAULT_LOCALE)
_catalogues: dict[str, dict[str, str]] = {}


def _load(locale: str) -> dict[str, str]:
    if locale not in _catalogues:
        path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
        messages: dict[str, str] = {}
        if path.exists():
            with path.open("rb") as fh:
                for message in read_po(fh, locale=locale.replace("_Hans", "")):
                    if not message.id or not message.string or message.fuzzy:
                        continue
                    if isinstance(message.id, tuple):  # plural forms: each source form maps to its translation
                        for source, target in zip(message.id, message.string, strict=False):
                            messages[source] = target
                    elif isinstance(message.id, str) and isinstance(message.string, str):
                        messages[message.id] = message.string
        _catalogues[locale] = messages
    return _catalogues[locale]


def set_locale(locale: str | None) -> str:
    chosen = locale if locale in LANGUAGES else DEFAULT_LOCALE
    _current.set(chosen)
    return chosen


def get_locale() -> str:
    return _current.get()


def gettext(message: str, /, **variables: object) -> str:
    translated = _load(_current.get()).get(message, message)
    return translated % variables if variables else translated


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    return gettext(singular if n == 1 else plural, **variables)


def N_(message: str) -> str:
    """Marks a string for extraction where it is defined; it is translated where it is shown."""
    return message


_ = gettext
