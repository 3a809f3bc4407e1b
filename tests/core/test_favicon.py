"""Every page made the browser ask for /favicon.ico and get a 404 (issue 13, point 9)."""

import io

from PIL import Image


async def test_favicon_is_served_and_pages_name_an_icon(client):
    icon = await client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert Image.open(io.BytesIO(icon.content)).format == "ICO"
    login = await client.get("/login")
    assert '<link rel="icon" href="/static/icon.svg"' in login.text
    svg = await client.get("/static/icon.svg")
    assert svg.status_code == 200 and svg.text.startswith("<svg")
