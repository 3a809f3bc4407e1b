"""A generated document sent as a download: its media type, and a file name that keeps its Chinese."""

from urllib.parse import quote

from fastapi.responses import Response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF = "application/pdf"


def attachment(data: bytes, media_type: str, filename: str) -> Response:
    """RFC 6266's `filename*` carries the UTF-8 name (督〔2026〕001号.docx), which every current browser reads."""
    return Response(data, media_type=media_type,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})
