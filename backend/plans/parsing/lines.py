"""Lines of a plan: numbering labels, page/web chrome, hard-wrapped text."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from .script import shadow

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
             "九": 9}


def cn_to_int(text: str) -> int | None:
    """一 → 1, 十二 → 12, 二十三 → 23, 一百 → 100; None when not a Chinese numeral."""
    if not text:
        return None
    if text.isdigit():
        return int(text)
    total = 0
    current = 0
    seen = False
    for ch in text:
        if ch in CN_DIGITS:
            current = CN_DIGITS[ch]
            seen = True
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
            seen = True
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
            seen = True
        else:
            return None
    return total + current if seen else None


def int_to_cn(n: int) -> str:
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n % 10] if n % 10 else "")
    if n < 100:
        return digits[n // 10] + "十" + (digits[n % 10] if n % 10 else "")
    return str(n)


# Precedence of numbering styles (GB/T 9704: 一、 → (一) → 1. → (1)), with 第一部分 above all.
# A 行动方案's 行动一 / 专项行动一 / 任务一 sits where a (一) would (under 一、, above 1.); 第一阶段 phases and
# ——任务1 tasks sit just below (一), above 1.
KINDS = ("part", "cn", "act", "pcn", "phase", "task", "ar", "par", "circ")
RANK = {k: i for i, k in enumerate(KINDS)}

_CN = "[一二三四五六七八九十]{1,3}"
# units and words that make "1所…", "一流…" ordinary text rather than a numbering label
UNIT_START = set("所个名人项间栋座家支套台件本场次期批门节班张条篇处块轮届类种户组队室校园年月日号岁万亿千百%.")
_CN_LOOSE_STOP = set("是要些流批体般切直定样起道致律方层级年月日次种类部代生线手把岗校品村户人名个项门票网站步点支"
                     "张元期轮届季周天度等同并起心")

_RE = {
    "part": re.compile(r"第\s*([一二三四五六七八九十百零〇]{1,4}|[0-9]{1,2})\s*(?:部分|篇|章)\s*[、.,:]?\s*"),
    "cn": re.compile(rf"({_CN})\s*(?:[、.,:]|\s+(?=\S))\s*"),
    "act": re.compile(
        rf"[—–-]{{0,2}}\s*(?:(?:专项|重点|攻坚)?行动\s*({_CN}|[0-9]{{1,2}})|(?:重点|专项)?任务\s*({_CN}))"
        r"(?:\s*[、.,:]\s*|\s+|$)"
    ),
    "pcn": re.compile(rf"\(\s*({_CN})\s*\)\s*[、.,:]?\s*"),
    "phase": re.compile(rf"第\s*({_CN}|[0-9])\s*阶段\s*[、.,:]?\s*"),
    "task": re.compile(r"[—–-]{0,2}\s*任务\s*([0-9]{1,2})\s*[、.,:]?\s*"),
    "ar": re.compile(r"([0-9]{1,3})\s*(?:[.、,](?![0-9])|\s+(?=[^[0-9]\s]))\s*"),
    "par": re.compile(r"(?:\(\s*([0-9]{1,3})\s*\)|([0-9]{1,3})\s*\))\s*[、.,:]?\s*"),
    "circ": re.compile("([\u2460-\u2473\u3251-\u325f\u32b1-\u32bf])\\s*[、.,]?\\s*"),
}
_RE_CN_LOOSE = re.compile(r"([一二三四五六七八九十]{1,2})(?=[\u4e00-\u9fff])")
_RE_AR_LOOSE = re.compile(r"([0-9]{1,2})(?=[\u4e00-\u9fff])")


def circled_value(ch: str) -> int:
    o = ord(ch)
    if 0x2460 <= o <= 0x2473:
        return o - 0x2460 + 1
    if 0x3251 <= o <= 0x325F:
        return o - 0x3251 + 21
    return o - 0x32B1 + 36


@dataclass
class Label:
    kind: str
    value: int
    token: str  # the number as written, without brackets or delimiters ("一", "1", "①", "第一部分")
    end: int  # where the content starts in the line
    loose: bool = False  # written without any delimiter ("一加强…"): accepted only in sequence


def _read_part(kind: str, m: re.Match[str], raw: str, num: str) -> tuple[int | None, str] | None:
    return cn_to_int(num), raw[: m.end()].rstrip("、.,:：，． \u3000")


def _read_named(kind: str, m: re.Match[str], raw: str, num: str) -> tuple[int | None, str] | None:
    """行动一, 任务1, 第一阶段: the token is the words with the number, without leading dashes."""
    return cn_to_int(num), raw[: m.end()].rstrip("、.,:：，． \u3000").lstrip("—–- \u3000")


def _read_circled(kind: str, m: re.Match[str], raw: str, num: str) -> tuple[int | None, str] | None:
    return circled_value(num), raw[m.start(1) : m.end(1)]


def _read_chinese(kind: str, m: re.Match[str], raw: str, num: str) -> tuple[int | None, str] | None:
    # "一、二年级…" is an enumeration of numerals, not a heading
    if re.match(r"[一二三四五六七八九十]+\s*[年级、]", m.string[m.end() :]):
        return None
    return cn_to_int(num), raw[m.start(1) : m.end(1)]


def _read_arabic(kind: str, m: re.Match[str], raw: str, num: str) -> tuple[int | None, str] | None:
    if kind == "ar":  # "3所学校", "2024年", "1.5" are text, not labels
        sh, rest = m.string, m.string[m.end() :]
        spaced = not re.search(r"[.、,]", sh[m.start(1) + len(num) : m.end()])
        if not rest or rest[0].isdigit() or (spaced and rest[0] in UNIT_START):
            return None
        if re.match(r"\s*[年月日号]", rest):
            return None
    return int(num), num


# How each numbering style's match reads as (value, token as written), or None when the line is not numbered
# after all. A new numbering scheme is a pattern in _RE, a place in KINDS (its rank) and a reader here.
_READ: dict[str, Callable[[str, re.Match[str], str, str], tuple[int | None, str] | None]] = {
    "part": _read_part,
    "cn": _read_chinese,
    "act": _read_named,
    "pcn": _read_chinese,
    "phase": _read_named,
    "task": _read_named,
    "ar": _read_arabic,
    "par": _read_arabic,
    "circ": _read_circled,
}


def _plausible(kind: str, value: int | None, token: str, rest: str) -> bool:
    if value is None or value <= 0 or value > 200:
        return False
    if kind in ("cn", "pcn") and int_to_cn(value) != token:
        return False  # 两、 一十、 are not how headings are numbered
    if kind in ("ar", "par") and token != str(value):
        return False  # 01.
    return bool(rest.strip()) or kind not in ("ar", "par", "circ")


def _delimited(kind: str, m: re.Match[str], raw: str) -> Label | None:
    num = next(g for g in m.groups() if g)
    read = _READ[kind](kind, m, raw, num)
    if read is None:
        return None
    value, token = read
    if not _plausible(kind, value, token, m.string[m.end() :]):
        return None
    return Label(kind, value, token, m.end())  # type: ignore[arg-type]


def _loose_chinese(sh: str) -> Label | None:
    m = _RE_CN_LOOSE.match(sh)
    if m and len(sh) <= 30 and "。" not in sh[:-1] and "," not in sh and sh[m.end()] not in _CN_LOOSE_STOP:
        value = cn_to_int(m.group(1))
        if value and int_to_cn(value) == m.group(1):
            return Label("cn", value, m.group(1), m.end(), loose=True)
    return None


def _loose_arabic(sh: str) -> Label | None:
    m = _RE_AR_LOOSE.match(sh)
    if m and sh[m.end()] not in UNIT_START and sh[m.end()] not in _CN_LOOSE_STOP and not m.group(1).startswith("0"):
        value = int(m.group(1))
        if 0 < value <= 200:
            return Label("ar", value, m.group(1), m.end(), loose=True)
    return None


def find_label(raw: str, sh: str) -> Label | None:
    """The numbering label at the start of a stripped line, if any.

    The first style (in rank order) whose delimited pattern matches decides; only a line that matches none may
    carry a loose label (一加强…, 1加强…).
    """
    k = len(sh) - len(sh.lstrip())
    if k:
        label = find_label(raw[k:], sh[k:])
        if label:
            label.end += k
        return label
    if not sh:
        return None
    for kind in KINDS:
        m = _RE[kind].match(sh)
        if m:
            return _delimited(kind, m, raw)
    return _loose_chinese(sh) or _loose_arabic(sh)


# ---------------------------------------------------------------------------------------- chrome
TERMINAL = "。!?;…”’」』)]》"

# a line that ends the plan's body (everything after is page chrome, signature or attachments)
HARD_END = re.compile(
    r"^(?:上一篇|下一篇|上一条|下一条|相关(?:文件|推荐|链接|阅读|新闻|信息|附件)|扫一扫|打印(?:此页|本页|文章)?\s*(?:关闭|$)"
    r"|\[?\s*打印\s*\]?\s*\[?\s*关闭|关闭(?:窗口|本页)|网站(?:标识码|地图)|主办单位|承办单位|主办:|版权所有|Copyright"
    r"|.{0,30}ICP备|.{0,30}公网安备|附件\s*\d*\s*(?::|$)|附件\s*\d+\s*\S|附表\s*\d*\s*(?::|$)|抄送\s*:|抄报\s*:"
    r"|\(?此(?:件|页)\s*(?:公开发布|主动公开|不予公开|依申请公开|无正文)|分享到|返回顶部|【?\s*关闭\s*】?$"
    r"|\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日\s*(?:印发|发布)?\s*$)",
    re.IGNORECASE,
)

WEB_CHROME = re.compile(
    r"(当前位置|现在的位置|当前的位置|首页\s*[>»›/]|首页\s*$|浏览次数|点击数|点击量|浏览量|访问量|阅读次数|字体\s*:|\[?字体|字号"
    r"|视力保护色|分享到|返回顶部|责任编辑|来源\s*:|发布时间|发布日期|更新时间|索\s*引\s*号|信息分类|发布机构|生成日期"
    r"|公开日期|成文日期|文\s*号\s*:|主题词|信息名称|内容概述|内容概览|时效\s*:|废止日期|公开方式|主动公开|用户中心|无障碍"
    r"|繁体版|简体版|English|欢迎|登录|注册|收藏本|打印|关闭|网站|版权|转载|ICP|备案|E-?mail|邮箱|邮编|电话\s*:|传真|地址\s*:"
    r"|www\.|https?://|\.com|\.cn\b|扫一扫|二维码|上一篇|下一篇|相关推荐|相关文件)",
    re.IGNORECASE,
)

PAGE_CHROME = re.compile(
    r"^(?:[-—–_~\s]*\d{1,4}[-—–_~\s]*|第\s*\d+\s*页(?:\s*[,/]?\s*共\s*\d+\s*页)?|共\s*\d+\s*页\s*第\s*\d+\s*页"
    r"|\d{1,4}\s*/\s*\d{1,4}|[-—–]\s*\d{1,4}\s*[-—–])$"
)

OWNER_MARK = re.compile(r"(牵头|责任|配合|协办|协同|参与|协助|主责|支撑)(单位|部门|科室|处室|股室)|完成时限|时间节点")


def is_page_chrome(sh: str) -> bool:
    return bool(PAGE_CHROME.match(sh.strip()))


def is_hard_end(sh: str) -> bool:
    s = sh.strip()
    return len(s) <= 80 and bool(HARD_END.match(s))


STRONG_CHROME = re.compile(
    r"(版权|ICP|公网安备|备案号|https?://|www\.|E-?mail|网站标识|转载|主办单位|技术支持)", re.IGNORECASE
)


def looks_like_body(sh: str) -> bool:
    """Whether a line after the last heading reads like plan text rather than chrome or signature."""
    s = sh.strip()
    if not s or STRONG_CHROME.search(s):
        return False
    if OWNER_MARK.search(s):
        return True
    if s[-1] in TERMINAL and len(s) >= 30:
        return True
    if WEB_CHROME.search(s):
        return False
    if s[-1] in TERMINAL:
        return len(s) >= 6
    return len(s) >= 40


# ------------------------------------------------------------------------------------ hard wraps
def is_hard_wrapped(lines: list[str]) -> tuple[bool, int]:
    """Detect text wrapped at a fixed width (PDF text layers); returns (wrapped, width).

    Wrapped text has most of its lines at one length (the page width) and most of them end mid-sentence;
    a plain text whose punctuation was lost has lines of every length.
    """
    lengths = [len(s) for s in lines if len(s) >= 8]
    if len(lengths) < 6:
        return False, 0
    open_lengths = [len(s) for s in lines if len(s) >= 8 and s[-1] not in TERMINAL + ",、:"]
    if len(open_lengths) / len(lengths) < 0.4:
        return False, 0
    width, _ = Counter(open_lengths).most_common(1)[0] if open_lengths else (0, 0)
    if width < 15:
        return False, 0
    tol = max(2, width // 12)
    long_open = [n for n in open_lengths if n >= 0.6 * width]
    near = sum(1 for n in long_open if abs(n - width) <= tol)
    longer = sum(1 for n in lengths if n > width + tol)  # a page width is never exceeded
    if near < 4 or near / len(long_open) < 0.6 or longer > 0.1 * len(lengths):
        return False, 0
    return True, width


def unwrap(raws: list[str], width: int) -> list[str]:
    """Join lines that were broken at the page width; labels and chrome still start their own lines.

    Linear in the text: a joined line is kept as its parts (joined once at the end), and only its length and last
    character are looked at, so a long text with no sentence end (no punctuation) is not re-copied and re-shadowed
    for every line added to it (that was quadratic: 362 KB took 33 s)."""
    groups: list[list[str]] = []
    length = 0  # of the last group
    last = ""  # its last character, shadowed (shadow() maps character by character)
    min_length = width - max(2, width // 12)
    terminal = tuple(TERMINAL)
    for raw in raws:
        if groups:
            sh = shadow(raw)
            if length >= min_length and last not in terminal and not find_label(raw, sh) and not is_hard_end(sh):
                groups[-1].append(raw)
                length += len(raw)
                last = shadow(raw[-1:]) if raw else last
                continue
        groups.append([raw])
        length, last = len(raw), shadow(raw[-1:])
    return ["".join(parts) for parts in groups]
