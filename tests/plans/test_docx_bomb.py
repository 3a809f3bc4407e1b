"""Issue 14, finding 7: a 1 MB plan .docx inflated to 1 GB (no zip size or ratio check on the plan path).

The plan path now checks the zip's declared sizes with the helper evidence uses (backend.core.archives) before
python-docx inflates anything. The .docx here is real: a minimal WordprocessingML package whose document.xml is
a few hundred kilobytes compressed and 64 MB inflated.
"""

import io
import tracemalloc
import zipfile

import pytest

from backend.core.roles import Role
from backend.errors import InvalidInput
from backend.plans import service as plans
from backend.plans.parser import PlanInputError, parse_file

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def docx(paragraphs: list[str], padding: int = 0) -> bytes:
    """A real .docx; `padding` bytes of whitespace inside document.xml make it inflate that much more."""
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    xml = (f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{W}"><w:body>{body}'
           f'{" " * padding}</w:body></w:document>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", RELS)
        archive.writestr("word/document.xml", xml)
    return out.getvalue()


PLAN = ["一、总体要求", "1.加强学校管理。", "2.提升教育质量。", "二、保障措施", "1.落实责任。", "2.强化督查。"]


def test_a_real_small_docx_still_parses():
    assert [s.title for s in parse_file(docx(PLAN), "要点.docx").sections]


def test_a_docx_whose_document_xml_inflates_hugely_is_refused_with_little_memory():
    bomb = docx(PLAN, padding=64 * 2**20)
    assert len(bomb) < 2**20  # small on the wire
    tracemalloc.start()
    try:
        with pytest.raises(PlanInputError, match="解压后过大"):
            parse_file(bomb, "要点.docx")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, f"{peak / 2**20:.0f} MB allocated while refusing it"


async def test_the_import_page_refuses_it_with_a_message(bureau):
    from backend.db import unit_of_work

    async def chunks():
        yield docx(PLAN, padding=64 * 2**20)

    async with unit_of_work(bureau.tenant.id) as session:
        with pytest.raises(InvalidInput, match="解压后过大") as refused:
            await plans.start_import(session, bureau.actors[Role.admin], filename="要点.docx", chunks=chunks())
    assert refused.value.field == "file"
