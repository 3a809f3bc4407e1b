"""Title, issuer and year of a plan, from the lines around the start of its body."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from backend.i18n import _

from .deadlines import Period
from .lines import WEB_CHROME, cn_to_int, find_label
from .script import shadow, to_simplified

TITLE_KW = re.compile(
    r"(工作要点|要点|工作计划|计划|工作安排|安排|工作思路|工作重点|重点工作|任务清单|任务分解|实施方案|工作方案|方案"
    r"|意见|打算|工作任务|重点任务|行事历|校历)"
)
# 关于印发《…》的通知, 关于报送2024年工作计划的函: the plan's name inside a cover notice or letter
NOTICE = re.compile(r"关于\s*(?:印发|报送|上报|提交|报告|下发|发布)\s*[《<]?(.+?)[》>]?\s*的?(?:通知|函)"
                    r"|关于\s*[《<](.+?)[》>]\s*的?(?:通知|函)")
# X教发〔2024〕12号 (shadowed: 〔〕 → []), 文号：…
# (at a line's start or after 文号:, not one cited in a cover letter: 根据…（教基〔2024〕3号）)
DOC_NUMBER = re.compile(
    r"(?:^|文\s*号\s*:)\s*([\u4e00-\u9fff]{1,14}\s*[\[(]\s*(?:19|20)\d{2}\s*[\])]\s*第?\s*\d{1,4}\s*号)"
)
# 2023学年, 2023-2024学年度第一学期: a school year, named by the year it starts
SCHOOL_YEAR = re.compile(
    r"(?<!\d)((?:19|20)\d{2})\s*年?\s*(?:(?:-|—|–|~|至|到)+\s*(?:19|20)?\d{2}\s*年?\s*)?"
    r"(?:学年(?:度)?\s*(?:第?\s*(?P<term>[一二12上下])\s*学期)?|(?P<autumn>秋季|秋)\s*学期)"
)
FIELD_TITLE = re.compile(r"^(?:信息名称|文件名称|名\s*称|标\s*题|题\s*目)\s*:\s*(.+)$")
ORG_SUFFIX = (
    r"(?:教育局|教育厅|教育委员会|教委|教体局|教育和体育局|教育体育局|教育工委|教育工作委员会|工委|委员会|局|厅|委"
    r"|人民政府|政府|办公室|办|学校|中学|小学|幼儿园|学院|教师发展中心|教研室)"
)
SELF_NOTICE = re.compile(r"^(?:[\u4e00-\u9fff()\s]{2,40}?" + ORG_SUFFIX + r")?\s*(关于.{2,60}的(?:通知|函))$")
ORG_LINE = re.compile(rf"^[\u4e00-\u9fff()\s]{{2,60}}?{ORG_SUFFIX}$")
ORG_TAIL = re.compile(rf"[\u4e00-\u9fff()]{{2,40}}?{ORG_SUFFIX}")
META_ISSUER = re.compile(
    r"(?:发布机构|发文机关|发文单位|发布单位|信息来源|文章来源|来源单位|来源|主办单位|主办)\s*:\s*"
    r"([\u4e00-\u9fff()]{2,40}?" + ORG_SUFFIX + r")(?![\u4e00-\u9fff]{0,1}(?:长|员|者))"
)
RED_HEADER = re.compile(rf"^([\u4e00-\u9fff()\s]{{2,40}}?{ORG_SUFFIX})\s*文\s*件$")
IMPRINT = re.compile(rf"^([\u4e00-\u9fff()]{{2,40}}?{ORG_SUFFIX}?)(?:办公室|办公厅)\s*\d{{4}}\s*年.{{0,8}}印发$")
DATE_LINE = re.compile(r"^(?:\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|\d{6,8}|\d{4}[-./]\d{1,2}[-./]\d{1,2})"
                       r"\s*(?:印发|发布)?$")
YEAR_IN = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
YEAR_RANGE = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*(?:-|—|–|~|至|到|－)+\s*((?:19|20)\d{2})(?!\d)")
PART_OF_YEAR = re.compile(
    r"(?:(?P<half>上|下)半年|第?(?P<q>[一二三四1-4])\s*季度|(?<!\d)(?P<m>\d{1,2}|十[一二]|[一二三四五六七八九十])\s*月份?)"
    r"\S{0,6}?(?:工作)?(?:计划|安排|要点|打算)"
)
CN_YEAR = re.compile(r"([一二][〇零○一二三四五六七八九]{3})\s*年")  # 二〇二四年
_CN_DIGITS = str.maketrans("〇零○一二三四五六七八九", "000123456789")
YEAR_NIAN = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年")
DATE_FIELD = re.compile(r"(?:发布时间|发布日期|发文日期|生成日期|成文日期|公开日期|日期|时间)\s*:\s*((?:19|20)\d{2})")
LEVELS = "市区县州旗盟"
SCOPE = re.compile(r"(?:全|我|本)([市区县州旗])")

# characters that end a word and make "X区" a kind of area rather than a place ("社区", "实验区", …)
_BAD_LAST = set("社园校城辖景片山地范验任发新住划郊学点护行领小示试牧灾聚能街库港全各本我该省市县区州每乡镇村")
_BAD_FIRST = set("全各本我该省市县区州和与及在到向对为等的开进推完构组联配好强动展年月日由将把从按经以了是有这其"
                 "所个名到至或并含")


@dataclass
class Header:
    title: str | None = None
    title_idx: int | None = None
    title_is_line: bool = False  # the title is the whole line, as written
    issuer: str | None = None
    issuer_idx: int | None = None
    year: int | None = None
    school: bool = False  # the year is a school year (September to August)
    term: int = 0  # 1: its autumn term, 2: its spring term
    doc_number: str | None = None
    flags: list[str] = field(default_factory=list)

    last_month: int = 12  # a plan for part of the year ends with this month

    @property
    def period(self) -> Period:
        return Period(self.year, self.school, self.term, self.last_month)


def _clean_title(raw: str) -> str:
    return raw.strip().rstrip("。.").strip()


def _notice_title(raws: list[str], shs: list[str], i: int) -> tuple[str, int] | None:
    """The plan's name in a 关于印发《…》的通知 on line i, or on lines i-1 and i (a notice title broken in two)."""
    for first in (i, i - 1):
        if first < 0 or (first < i and "关于" not in shs[first]):
            continue
        sh = "".join(shs[k].strip() for k in range(first, i + 1))
        m = NOTICE.search(sh)
        if m:
            raw = "".join(raws[k].strip() for k in range(first, i + 1))
            g = 1 if m.group(1) else 2
            return _clean_title(raw[m.start(g) : m.end(g)]), first
    return None


def _title_line(raws: list[str], shs: list[str], i: int) -> tuple[str, int, bool]:
    """A title line, joined to the line above when the title was broken after its year (某某市2024年 / 教育工作要点)."""
    title = _clean_title(raws[i])
    above = shs[i - 1].strip() if i > 0 else ""
    if (not YEAR_IN.search(shs[i]) and YEAR_IN.search(above) and len(above) <= 30 and not TITLE_KW.search(above)
            and not re.search(r"[。:;,]|\d\s*号|关于|文件$", above) and not ORG_LINE.match(above)
            and not DATE_LINE.match(above)):
        return _clean_title(raws[i - 1].strip() + raws[i].strip()), i - 1, False
    return title, i, title == raws[i].strip()


def find_title(raws: list[str], shs: list[str], body_start: int) -> tuple[str | None, int | None, bool]:
    """Nearest title-like line above the body; a 关于印发《…》的通知 line gives the name inside."""
    for i in range(body_start - 1, -1, -1):
        sh = shs[i].strip()
        if not sh or len(sh) > 70 or sh.endswith("。") or "现将" in sh or find_label(raws[i], sh):
            continue
        if re.fullmatch(r"\([^()]*\)", sh):  # （征求意见稿）, （试行） under the title
            continue
        notice = _notice_title(raws, shs, i)
        if notice:
            return notice[0], notice[1], False
        own = SELF_NOTICE.match(sh)
        if own:  # 某局关于做好2024年寒假安全工作的通知: a notice that is the plan itself, its sender cut off
            title = _clean_title(raws[i][own.start(1) :])
            return title, i, title == raws[i].strip()
        if FIELD_TITLE.match(sh) or WEB_CHROME.search(sh) or ":" in sh:
            continue
        if TITLE_KW.search(sh):
            return _title_line(raws, shs, i)
    for i in range(0, body_start):
        m = FIELD_TITLE.match(shs[i].strip())
        if m and TITLE_KW.search(m.group(1)):
            start = shs[i].index(m.group(1))
            return _clean_title(raws[i][start: start + len(m.group(1))]), i, False
    return None, None, False


def _complete(name: str) -> bool:
    s = re.sub(r"\s+", "", name)
    return not (s[0] in LEVELS or s[0] in "省本我该各" or s.startswith(("教育", "教体", "教委")))


def _norm_org(name: str) -> str:
    return re.sub(r"\s+", " ", to_simplified(name)).strip()


def _place(shadow_text: str, level: str) -> tuple[str | None, int]:
    """Most cited place name of the given level ("太仓市", "未央区") in the text."""
    two: Counter[str] = Counter()
    three: Counter[str] = Counter()
    for m in re.finditer(level, shadow_text):
        i = m.start()
        for n, counter in ((2, two), (3, three)):
            if i - n < 0:
                continue
            name = shadow_text[i - n: i]
            if not all("\u4e00" <= c <= "\u9fff" for c in name):
                continue
            if name[0] in _BAD_FIRST or name[-1] in _BAD_LAST:
                continue
            counter[name] += 1
    best: tuple[str | None, int] = (None, 0)
    for name, count in two.most_common(5):
        full, n = name, count
        for longer, c3 in three.items():
            if longer.endswith(name) and c3 >= 0.6 * count and c3 >= 2:
                full, n = longer, c3
                break
        if n >= 2 and n > best[1]:
            best = (full + level, n)
    for name, count in three.most_common(3):
        if count >= 2 and count > best[1] * 1.5:
            best = (name + level, count)
    return best


def _scope_level(shadow_text: str, preamble: str) -> str | None:
    m = SCOPE.search(preamble)
    if m:
        return m.group(1)
    counts = Counter(m.group(1) for m in SCOPE.finditer(shadow_text))
    return counts.most_common(1)[0][0] if counts else None


_TITLE_PLACE = re.compile(r"\d{4}\s*年度?\s*([\u4e00-\u9fff]{2,4}?)([市区县州])?(?:教育|教体|基础教育|全市|全区|全县)")


def _title_place(title_sh: str) -> str | None:
    m = _TITLE_PLACE.search(title_sh)
    if not m:
        return None
    name = m.group(1)
    if name[0] in _BAD_FIRST or name in ("全市", "全区", "全县", "全州"):
        return None
    return name


Candidate = tuple[int, str, int | None, str]  # (priority, name, line index, how it was found)


def _title_candidates(raws: list[str], shs: list[str], header: Header, body_start: int) -> list[Candidate]:
    """An organisation on the line above or below the title, or named before the year inside the title."""
    ti = header.title_idx
    if ti is None:
        return []
    out: list[Candidate] = []
    for j in (ti - 1, ti + 1):
        if 0 <= j < len(shs) and j != body_start:
            s = shs[j].strip()
            if s and len(s) <= 60 and ORG_LINE.match(s) and not TITLE_KW.search(s):
                out.append((0, raws[j].strip(), j, "title"))
    tsh = shs[ti]
    m = NOTICE.search(tsh)
    inner = m.group(m.lastindex or 1) if m else (header.title or "")
    sender = re.match(rf"^([\u4e00-\u9fff()\s]{{2,60}}?{ORG_SUFFIX})\s*关于", tsh)
    if sender:  # 某市教育局关于印发《…》的通知: the sender is the issuer
        out.append((0, raws[ti][: sender.end(1)].strip(), None, "title"))
    y = YEAR_IN.search(inner) or CN_YEAR.search(inner)
    if y and y.start() > 1:
        prefix = inner[: y.start()].strip()
        if re.match(rf"^([\u4e00-\u9fff()\s]{{2,60}}?{ORG_SUFFIX})$", prefix):
            out.append((1, prefix, None, "title"))
    return out


def _discarded_candidates(raws: list[str], shs: list[str], discarded_idx: list[int]) -> list[Candidate]:
    """Red header, imprint, signature above a date, web page's 发布机构 among the lines not used."""
    out: list[Candidate] = []
    for j in discarded_idx:
        s = shs[j].strip()
        m = RED_HEADER.match(s)
        if m:
            out.append((1, m.group(1), None, "header"))
        m = IMPRINT.match(s)
        if m:
            out.append((2, m.group(1), None, "imprint"))
        if ORG_LINE.match(s) and len(s) <= 60:
            nxt = next((shs[k].strip() for k in range(j + 1, min(j + 4, len(shs))) if shs[k].strip()), "")
            if DATE_LINE.match(nxt):
                out.append((2, raws[j].strip(), None, "signature"))
        out.extend((3, m.group(1), None, "meta") for m in META_ISSUER.finditer(s))
    return out


def find_issuer(
    raws: list[str],
    shs: list[str],
    header: Header,
    discarded_idx: list[int],
    body_start: int,
    preamble_sh: str,
    full_sh: str,
) -> None:
    """Fill header.issuer (simplified characters) and header.issuer_idx; flags say how it was found."""
    candidates = _title_candidates(raws, shs, header, body_start) + _discarded_candidates(raws, shs, discarded_idx)
    complete = sorted((c for c in candidates if _complete(c[1])), key=lambda c: c[0])
    if complete:
        _rank, name, idx, how = complete[0]
        header.issuer = _norm_org(name)
        header.issuer_idx = idx
        if how != "title":
            where = {"signature": _("落款"), "meta": _("网页信息栏"), "header": _("文头"), "imprint": _("版记")}[how]
            header.flags.append(_("发文单位取自%(source)s：%(issuer)s", source=where, issuer=header.issuer))
        return
    _infer_issuer(header, sorted(candidates, key=lambda c: c[0]), shs, preamble_sh, full_sh)


def _infer_issuer(
    header: Header, incomplete: list[Candidate], shs: list[str], preamble_sh: str, full_sh: str
) -> None:
    """No complete name: complete the best one (or 教育局) with the place the text names most at its level."""
    level = None
    base = "教育局"
    if incomplete:
        name = re.sub(r"\s+", "", incomplete[0][1])
        if name[0] in LEVELS:
            level, base = name[0], name[1:]
        else:
            base = name
    level = level or _scope_level(full_sh, preamble_sh)
    place = _issuer_place(header, shs, full_sh, level) if level else None
    if place is None:
        _partial(header, incomplete)
        return
    header.issuer = _norm_org(place + base)
    if incomplete:
        header.flags.append(
            _(
                "发文单位由“%(written)s”补全为“%(issuer)s”，请核对",
                written=_norm_org(incomplete[0][1]),
                issuer=header.issuer,
            )
        )
    else:
        header.flags.append(_("发文单位由正文推断：%(issuer)s，请核对", issuer=header.issuer))


def _issuer_place(header: Header, shs: list[str], full_sh: str, level: str) -> str | None:
    """The place of that level named in the title, else the one the text cites most (a district with its city)."""
    place = None
    if header.title_idx is not None:
        tp = _title_place(shs[header.title_idx])
        if tp:
            place = tp + level
    if place is None:
        place, _count = _place(full_sh, level)
    if place is None:
        return None
    if level == "区":
        city, _count = _place(full_sh, "市")
        if city:
            place = city + place
    return place


def _partial(header: Header, incomplete: list[tuple[int, str, int | None, str]]) -> None:
    if incomplete:
        header.issuer = _norm_org(incomplete[0][1])
        header.flags.append(_("发文单位不完整：%(issuer)s，请补全地名", issuer=header.issuer))
    else:
        header.flags.append(_("未识别到发文单位"))


def find_year(
    header: Header,
    title_sh: str | None,
    preamble_sh: str,
    front_sh: str,
    body_sh: str,
    default_year: int | None,
) -> None:
    if title_sh and _school_year(header, title_sh):
        return
    if title_sh:
        r = YEAR_RANGE.search(title_sh)
        if r:
            header.year = int(r.group(1))
            header.flags.append(_("计划跨多个年度：%(years)s，按%(year)s年计", years=r.group(0), year=header.year))
            return
        m = YEAR_IN.search(title_sh) or CN_YEAR.search(title_sh)
        if m:
            header.year = int(m.group(1).translate(_CN_DIGITS))
            _part_of_year(header, title_sh)
            return
    m = YEAR_NIAN.search(preamble_sh)
    if m:
        header.year = int(m.group(1))
        return
    m = DATE_FIELD.search(front_sh)
    if m:
        header.year = int(m.group(1))
        header.flags.append(_("标题中没有年份，年份取自发布日期：%(year)s", year=header.year))
        return
    m = YEAR_NIAN.search(body_sh)
    if m:
        header.year = int(m.group(1))
        header.flags.append(_("标题中没有年份，年份取自正文首次出现的年份：%(year)s", year=header.year))
        return
    if default_year:
        header.year = default_year
        header.flags.append(_("未识别到年份，按默认年份%(year)s计", year=default_year))
        return
    header.flags.append(_("未识别到年份"))


def _term(m: re.Match[str]) -> int:
    term = m.group("term")
    return 1 if m.group("autumn") or term in ("一", "1", "上") else 2 if term else 0


def _last_month(title_sh: str) -> int:
    """12, or the last month of a plan for part of a year (上半年工作计划, 第一季度重点工作安排, 3月份工作安排)."""
    m = PART_OF_YEAR.search(title_sh)
    if not m:
        return 12
    if m.group("half"):
        return 6 if m.group("half") == "上" else 12
    if m.group("q"):
        return 3 * (cn_to_int(m.group("q")) or 4)
    return cn_to_int(m.group("m")) or 12


def _part_of_year(header: Header, title_sh: str) -> None:
    header.last_month = _last_month(title_sh)
    if header.last_month < 12:
        due = header.period.end()
        assert due is not None
        header.flags.append(_("计划只覆盖年度的一部分：未写截止日期的条目于%(due)s到期", due=due.isoformat()))


def plan_period(title: str | None, year: int | None) -> Period:
    """The period a stored plan's dates are read against, from its title and year (for an item edited after the
    parse: a school-year plan's months keep falling in the right calendar year)."""
    title_sh = shadow(title or "")
    m = SCHOOL_YEAR.search(title_sh)
    return Period(year, True, _term(m)) if m else Period(year, last_month=_last_month(title_sh))


def _school_year(header: Header, title_sh: str) -> bool:
    """A school-year plan (2023学年, 2023—2024学年度第一学期, 2023年秋季学期): its year is the year the school year
    starts; months without a year from January to July fall in the next one; items without a deadline are due
    at the school year's end (31 August), or the autumn term's (31 January)."""
    m = SCHOOL_YEAR.search(title_sh)
    if not m:
        return False
    header.year, header.school, header.term = int(m.group(1)), True, _term(m)
    due = header.period.end()
    assert due is not None
    header.flags.append(
        _(
            "学年计划：按%(year)s学年计（%(year)s年9月至次年8月），未写年份的1—7月按次年计，未写截止日期的条目于"
            "%(due)s到期",
            year=header.year,
            due=due.isoformat(),
        )
    )
    return True


def find_doc_number(header: Header, raws: list[str], shs: list[str], idxs: list[int]) -> None:
    """The 文号 (X教发〔2024〕12号) among the lines around the body (red header, web page's 文号 field)."""
    for i in idxs:
        m = DOC_NUMBER.search(shs[i].strip())
        if m:
            header.doc_number = re.sub(r"\s+", "", raws[i][m.start(1) : m.end(1)])
            return
