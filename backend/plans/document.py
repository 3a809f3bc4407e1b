"""The editable draft of an imported plan: the parser's JSON shape plus stable keys and marks to highlight.

Every edit is a pure function on this dict, so that the preview, the API and the tests share one behaviour.
Nothing an edit removes disappears: removed items go to `discarded`, where the admin sees them.
"""

import copy
import math
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from backend.core.text import check_length, without_controls
from backend.errors import InvalidInput, NotFound
from backend.i18n import _
from backend.plans.parser import ParsedPlan, Section, parse_to_dict, read_item
from backend.plans.parsing.lines import cn_to_int

SENTENCE_END = re.compile(r"(?<=[。；;！!？?])")
CLAUSE_END = re.compile(r"[。；;！!？?]")
COMMA = re.compile(r"[，,]")
LEVELS = ("groups_to_items", "measures_to_items")  # the preview's one-action level changes (see their docstrings)


def _key() -> str:
    return uuid.uuid4().hex[:10]


def _without_nul(value: Any) -> Any:
    """PostgreSQL stores no NUL character, and Word and Excel files (the 台账, 督办单) none of the other control
    characters; the parser keeps them so that no text is lost before this point."""
    if isinstance(value, str):
        return without_controls(value)
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {k: _without_nul(v) for k, v in value.items()}
    return value


def from_parse(parsed: ParsedPlan) -> dict[str, Any]:
    document = _without_nul(parse_to_dict(parsed))
    document["script"] = parsed.script
    document["source_format"] = parsed.source_format
    for section, parsed_section in zip(document["sections"], parsed.sections, strict=True):
        section["key"] = _key()
        for item, parsed_item in zip(section["items"], parsed_section.items, strict=True):
            item["key"] = _key()
            item["marks"] = _marks(item, [d.text for d in parsed_item.deadlines])
    return document


def _marks(item: dict[str, Any], deadline_phrases: list[str]) -> list[dict[str, str]]:
    marks = [{"kind": "target", "text": t["text"]} for t in item["targets"] if t.get("text")]
    marks += [{"kind": "deadline", "text": text} for text in deadline_phrases if text]
    return marks


def _reparse_item(item: dict[str, Any], document: dict[str, Any]) -> None:
    """After merge, split or a level change, find the item's measures, targets, deadline, recurrence and owners
    again from its new text."""
    found = read_item(item["text"], document.get("year"), item["title"], document.get("title"))
    fresh = parse_to_dict(ParsedPlan(sections=[Section("", "", [found])]))["sections"][0]["items"][0]
    for field in ("measures", "targets", "deadline", "due", "recurrence", "owners"):
        item[field] = fresh[field]
    item["marks"] = _marks(item, [d.text for d in found.deadlines])


def _find(document: dict[str, Any], key: str) -> tuple[dict[str, Any], int]:
    for section in document["sections"]:
        for index, item in enumerate(section["items"]):
            if item["key"] == key:
                return section, index
    raise NotFound(_("找不到该条目，可能已被合并或删除。请刷新页面。"))


def _section(document: dict[str, Any], key: str) -> dict[str, Any]:
    for section in document["sections"]:
        if section["key"] == key:
            return section
    raise NotFound(_("找不到该部分，请刷新页面。"))


def _clean_title(title: str, *, field: str = "title", limit: int = 500) -> str:
    title = " ".join(title.split()).rstrip("。")
    if not title:
        raise InvalidInput(_("标题不能为空。"), field=field)
    if len(title) > limit:
        raise InvalidInput(_("标题不能超过 %(n)s 个字。", n=limit), field=field)
    return title


def edit(document: dict[str, Any], operation: str, **args: Any) -> dict[str, Any]:
    """Applies one edit and returns the new document (the old one is not changed)."""
    document = copy.deepcopy(document)
    handler = OPERATIONS.get(operation)
    if handler is None:
        raise InvalidInput(_("不支持的修改操作。"))
    handler(document, **args)
    return document


def _set_meta(document, *, title: str, issuer: str, year: str) -> None:
    document["title"] = _clean_title(title, limit=300)
    document["issuer"] = check_length(" ".join(issuer.split()), limit=200, label=_("发文单位"), field="issuer") or None
    try:
        parsed_year = int(year)
    except ValueError:
        raise InvalidInput(_("年份请填写四位数字，例如 2024。"), field="year") from None
    if not 2000 <= parsed_year <= 2100:
        raise InvalidInput(_("年份请填写四位数字，例如 2024。"), field="year")
    document["year"] = parsed_year


def _rename_section(document, *, key: str, title: str) -> None:
    _section(document, key)["title"] = _clean_title(title)


def _rename_item(document, *, key: str, title: str) -> None:
    section, index = _find(document, key)
    section["items"][index]["title"] = _clean_title(title)


def _set_deadline(document, *, key: str, deadline: str) -> None:
    section, index = _find(document, key)
    item = section["items"][index]
    if not deadline:
        item["deadline"] = None
        return
    try:
        parsed = date.fromisoformat(deadline)
    except ValueError:
        raise InvalidInput(_("日期格式不对，请按 2024-06-30 的格式填写。"), field="deadline") from None
    year = document.get("year")
    if year and not year - 1 <= parsed.year <= year + 1:
        message = _("截止日期 %(d)s 不在计划年度 %(y)s 年前后，请检查。", d=deadline, y=year)
        raise InvalidInput(message, field="deadline")
    item["deadline"] = parsed.isoformat()
    item["flags"] = [f for f in item["flags"] if "截止" not in f and "期限" not in f]


def _set_target(document, *, key: str, index: str, value: str, unit: str, comparator: str) -> None:
    section, position = _find(document, key)
    item = section["items"][position]
    try:
        target = item["targets"][int(index)]
    except (ValueError, IndexError):
        raise NotFound(_("找不到该指标，请刷新页面。")) from None
    try:
        number = float(value.replace(",", "").replace("，", ""))
    except ValueError:
        raise InvalidInput(_("指标数值请填写数字，例如 26 或 95.5。"), field="value") from None
    if not math.isfinite(number) or abs(number) >= 1e12:  # "inf", "nan", 1e400: no number a plan states
        raise InvalidInput(_("指标数值请填写数字，例如 26 或 95.5。"), field="value")
    unit = unit.strip()
    if not unit:
        raise InvalidInput(_("请填写指标单位，例如 所、%、人。"), field="unit")
    target.update(value=int(number) if number.is_integer() else number,
                  unit=check_length(unit, limit=20, label=_("指标单位"), field="unit"),
                  comparator=check_length(comparator.strip(), limit=10, label=_("比较词"), field="comparator") or None)


def _remove_target(document, *, key: str, index: str) -> None:
    section, position = _find(document, key)
    targets = section["items"][position]["targets"]
    try:
        removed = targets.pop(int(index))
    except (ValueError, IndexError):
        raise NotFound(_("找不到该指标，请刷新页面。")) from None
    section["items"][position]["marks"] = [
        m for m in section["items"][position].get("marks", []) if m["text"] != removed["text"]
    ]


def _merge_with_next(document, *, key: str) -> None:
    section, index = _find(document, key)
    if index + 1 >= len(section["items"]):
        raise InvalidInput(_("这是本部分最后一条，没有可以合并的下一条。"))
    item, following = section["items"][index], section["items"].pop(index + 1)
    item["text"] = item["text"].rstrip() + "\n" + following["text"]
    item["flags"] = item["flags"] + following["flags"]
    _reparse_item(item, document)


def _split(document, *, key: str, at: str) -> None:
    """Splits the item before its `at`-th piece (lines if it has several, else sentences)."""
    section, index = _find(document, key)
    item = section["items"][index]
    pieces = split_points(item["text"])
    try:
        cut = int(at)
    except ValueError:
        cut = 0
    if not 0 < cut < len(pieces):
        raise InvalidInput(_("请选择从哪一句开始拆成新的一条。"), field="at")
    first, second = "".join(pieces[:cut]).strip(), "".join(pieces[cut:]).strip()
    new_item = {
        **copy.deepcopy(item), "key": _key(), "number": None, "title": _clean_title(second[:40]), "text": second,
        "flags": [_("由上一条拆分而来，请核对标题。")],
    }
    item["text"] = first
    _reparse_item(item, document)
    _reparse_item(new_item, document)
    section["items"].insert(index + 1, new_item)


def split_points(text: str) -> list[str]:
    lines = [line + "\n" for line in text.split("\n") if line.strip()]
    if len(lines) > 1:
        return lines
    return [piece for piece in SENTENCE_END.split(text) if piece.strip()]


def _move(document, *, key: str, direction: str = "", section_key: str = "") -> None:
    section, index = _find(document, key)
    if section_key and section_key != section["key"]:
        target = _section(document, section_key)
        target["items"].append(section["items"].pop(index))
        return
    offset = {"up": -1, "down": 1}.get(direction)
    if offset is None:
        raise InvalidInput(_("请选择上移、下移或移到哪个部分。"))
    other = index + offset
    if not 0 <= other < len(section["items"]):
        raise InvalidInput(_("已经到头了，无法再移动。"))
    items = section["items"]
    items[index], items[other] = items[other], items[index]


def _sections(document: dict[str, Any], section_key: str) -> list[dict[str, Any]]:
    return [_section(document, section_key)] if section_key else document["sections"]


def _unique(values) -> list:
    return list(dict.fromkeys(values))


def _group_key(item: dict[str, Any]) -> tuple[str, str] | None:
    group = item.get("group")
    return (group["label"], group["title"]) if group else None


def _latest_deadline(members: list[dict[str, Any]]) -> str | None:
    """The latest stated deadline of the members; none (due at the plan year's end) when a member states none and
    no stated one is later than that member's due date."""
    stated = [m["deadline"] for m in members if m.get("deadline")]
    if not stated:
        return None
    latest = max(stated)
    undated_due = [m.get("due") or "9999" for m in members if not m.get("deadline")]
    return latest if not undated_due or latest > max(undated_due) else None


def _item_of_group(label: str, title: str, members: list[dict[str, Any]]) -> dict[str, Any]:
    """One item for a group: each member becomes a measure, whose text is the member's own; the member texts in
    order are the item's text, so nothing is lost. Fields not named here are the first member's."""
    lead = _unique(name for m in members for name in m.get("owners", {}).get("lead", []))
    co = [name for name in _unique(n for m in members for n in m.get("owners", {}).get("co", [])) if name not in lead]
    recurrences = {m.get("recurrence") for m in members}
    sources = {m.get("source", "text") for m in members}
    deadline = _latest_deadline(members)
    return {
        **copy.deepcopy(members[0]), "key": _key(), "number": cn_to_int(label), "label": label, "title": title,
        "text": "\n".join(m["text"] for m in members),
        "measures": [{"label": str(m["number"]) if m.get("number") else (m.get("label") or ""), "text": m["text"]}
                     for m in members],
        "targets": [t for m in members for t in m["targets"]],
        "deadline": deadline, "due": deadline or max((m["due"] for m in members if m.get("due")), default=None),
        "recurrence": recurrences.pop() if len(recurrences) == 1 else None,
        "owners": {"lead": lead, "co": co},
        "flags": _unique(f for m in members for f in m["flags"]),
        "group": None, "source": sources.pop() if len(sources) == 1 else "text",
        "marks": [mark for m in members for mark in m.get("marks", [])],
    }


def _groups_to_items(document, *, section_key: str = "") -> None:
    """Each group of a section (or of the whole plan) becomes one item where its first item stood; the group's
    items become that item's measures. Its owners are theirs together, its deadline their latest."""
    changed = False
    for section in _sections(document, section_key):
        members: dict[tuple[str, str], list[dict[str, Any]]] = {}
        order: list[dict[str, Any] | tuple[str, str]] = []
        for item in section["items"]:
            group = _group_key(item)
            if group is None:
                order.append(item)
                continue
            if group not in members:
                order.append(group)
            members.setdefault(group, []).append(item)
        changed = changed or bool(members)
        section["items"] = [_item_of_group(*entry, members[entry])
                            if isinstance(entry, tuple) else entry for entry in order]
    if not changed:
        raise InvalidInput(_("这里没有分组（如“（一）”），无需升为条目。"))


def _measure_pieces(item: dict[str, Any]) -> list[tuple[str, str]] | None:
    """The item's text cut where each of its measures starts, as (title, text) pieces that together are the whole
    text: the text before the first measure, if any, is a piece of its own under the item's title (what the item
    says before its steps: often a target or a deadline of the whole). None when the item lists no measures (the
    parser finds two or more; a group of one item made into an item has one), sits under a group already (a section
    shows three levels at most) or a measure is not in its text."""
    measures = item.get("measures") or []
    if not measures or item.get("group"):
        return None
    text, starts, position = item["text"], [], 0
    for measure in measures:
        found = text.find(measure["text"], position) if measure["text"] else -1
        if found == -1:
            return None
        label = measure.get("label") or ""
        before = text.rfind(label, position, found) if label else -1
        start = before if before != -1 and found - before <= len(label) + 2 else found
        if start > position and text[start - 1] in "（(":
            start -= 1
        starts.append(start)
        position = found + len(measure["text"])
    titles = [_title_of(m["text"]) for m in measures]
    if text[:starts[0]].strip(" \n。，；,;:："):
        titles.insert(0, item["title"])
        starts.insert(0, 0)
    starts[0] = 0
    return [(title, text[a:b].strip()) for title, a, b in zip(titles, starts, [*starts[1:], len(text)], strict=True)]


def _title_of(text: str) -> str:
    """A new item's title from its text: its first sentence, or its first clause when the sentence is long."""
    title = CLAUSE_END.split(text, maxsplit=1)[0].strip() or text
    if len(title) > 40:
        clause = COMMA.split(title, maxsplit=1)[0]
        title = clause if len(clause) >= 4 else title
    return _clean_title(title[:40])


def _measures_to_items(document, *, section_key: str = "") -> None:
    """Each item of a section (or of the whole plan) that lists measures becomes a group of its own: every
    measure becomes an item under it (and what the item says before them, if anything, an item of its own), with
    the piece of text it starts, its own deadline, targets and owners where that piece states them and the old
    item's otherwise."""
    changed = False
    for section in _sections(document, section_key):
        items: list[dict[str, Any]] = []
        for item in section["items"]:
            pieces = _measure_pieces(item)
            if pieces is None:
                items.append(item)
                continue
            changed = True
            label = item.get("label") or (str(item["number"]) if item.get("number") else "")
            group = {"label": label, "title": item["title"]}
            for n, (title, piece) in enumerate(pieces, 1):
                child = {**copy.deepcopy(item), "key": _key(), "number": n, "label": str(n), "title": title,
                         "text": piece, "group": group, "flags": list(item["flags"]) if n == 1 else []}
                _reparse_item(child, document)
                if not child["owners"]["lead"]:
                    child["owners"] = copy.deepcopy(item["owners"])
                if not child["deadline"]:
                    child["deadline"], child["due"] = item.get("deadline"), item.get("due")
                items.append(child)
        section["items"] = items
    if not changed:
        raise InvalidInput(_("这里没有列出措施（如“一是…二是…”）的条目，无法拆为条目。"))


def level_actions(items: list[dict[str, Any]]) -> tuple[int, int]:
    """How many groups the items fall in, and how many of them could be cut into their measures: what the
    preview's level buttons would change (a button is shown only when it changes something)."""
    groups = {_group_key(i) for i in items} - {None}
    return len(groups), sum(_measure_pieces(i) is not None for i in items)


def group_heading(label: str | None, title: str) -> str:
    """（一）抓好政治建设 for a group labelled 一, 3. … for one labelled 3, the title alone when it has no label."""
    label = label or ""
    if cn_to_int(label) is not None:
        return f"（{label}）{title}" if not label.isdigit() else f"{label}. {title}"
    return f"{label} {title}" if label else title


def _remove_item(document, *, key: str) -> None:
    section, index = _find(document, key)
    removed = section["items"].pop(index)
    document["discarded"].append(removed["text"])


OPERATIONS: dict[str, Callable[..., None]] = {
    "meta": _set_meta,
    "rename_section": _rename_section,
    "rename_item": _rename_item,
    "deadline": _set_deadline,
    "target": _set_target,
    "remove_target": _remove_target,
    "merge": _merge_with_next,
    "split": _split,
    "move": _move,
    "remove": _remove_item,
    "groups_to_items": _groups_to_items,
    "measures_to_items": _measures_to_items,
}


def due_date(item: dict[str, Any], year: int) -> date:
    """An item with no stated deadline is due at the end of the plan's year."""
    return date.fromisoformat(item["deadline"]) if item.get("deadline") else date(year, 12, 31)


@dataclass(frozen=True)
class DateCheck:
    """Dates a publish would give its tasks, judged on the bureau's date: a plan of another year, or tasks born past
    their deadline, need an explicit confirmation. Items naming their lead unit are handed to it at publish (and
    would be overdue and red at once); the others start as 待交办, which no deadline makes overdue."""

    plan_year: int | None
    this_year: int
    overdue_assigned: int
    overdue_unassigned: int
    past_keys: frozenset[str] = frozenset()  # the items whose deadline has passed, marked in the preview

    @property
    def overdue(self) -> int:
        return self.overdue_assigned + self.overdue_unassigned

    @property
    def needs_confirmation(self) -> bool:
        return (self.plan_year is not None and self.plan_year != self.this_year) or self.overdue > 0

    def message(self) -> str:
        parts = []
        if self.plan_year is not None and self.plan_year != self.this_year:
            parts.append(_("这是 %(plan)s 年的工作要点，今年是 %(now)s 年。", plan=self.plan_year, now=self.this_year))
        if self.overdue_assigned and self.overdue_unassigned:
            parts.append(_("按现在的时限，发布后将有 %(n)s 项任务一生成就已超过时限：其中 %(a)s 项写明了牵头单位，"
                           "发布即交办，会立即计为超期、亮红灯；%(u)s 项待交办，交办前不计超期。",
                           n=self.overdue, a=self.overdue_assigned, u=self.overdue_unassigned))
        elif self.overdue_assigned:
            parts.append(_("按现在的时限，发布后将有 %(n)s 项任务一生成就已超过时限；它们写明了牵头单位，发布即交办，"
                           "会立即计为超期、亮红灯。", n=self.overdue))
        elif self.overdue:
            parts.append(_("按现在的时限，发布后将有 %(n)s 项任务一生成就已超过时限；它们都待交办，交办前不计超期，"
                           "交办时请重设时限。", n=self.overdue))
        else:
            parts.append(_("没有任务的时限已过。"))
        parts.append(_("请核对年份和时限；确认无误请勾选“我已核对年份和时限”再发布。"))
        return "".join(parts)


def date_check(document: dict[str, Any], today: date) -> DateCheck:
    """What publishing `document` on the bureau's date `today` would give (see DateCheck)."""
    year = document.get("year")
    assigned = unassigned = 0
    past: set[str] = set()
    for section in document["sections"]:
        for item in section["items"]:
            if year and due_date(item, year) < today:
                past.add(item["key"])
                if item.get("owners", {}).get("lead"):
                    assigned += 1
                else:
                    unassigned += 1
    return DateCheck(year, today.year, assigned, unassigned, frozenset(past))


def highlight(text: str, marks: list[dict[str, str]]) -> list[tuple[str, str | None]]:
    """Splits text into (piece, kind) runs, kind being "target", "deadline" or None, for the preview."""
    spans: list[tuple[int, int, str]] = []
    for mark in marks:
        start = text.find(mark["text"])
        while start != -1:
            end = start + len(mark["text"])
            if not any(s < end and start < e for s, e, _k in spans):
                spans.append((start, end, mark["kind"]))
                break
            start = text.find(mark["text"], start + 1)
    runs: list[tuple[str, str | None]] = []
    position = 0
    for start, end, kind in sorted(spans):
        if start > position:
            runs.append((text[position:start], None))
        runs.append((text[start:end], kind))
        position = end
    if position < len(text):
        runs.append((text[position:], None))
    return runs
