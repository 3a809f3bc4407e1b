"""deploy/nginx.conf agrees with the app's body limits (backend/core/bodies.py), read from the app's route table.

nginx refuses a big body to a route that takes no file (a 50 MB POST /login) before it reaches the app, and lets
every route marked `@takes_files` take its file: each is covered by a location whose `client_max_body_size` is at
least the app's limit for it. The locations' regular expressions are simple enough to mean the same in Python's
`re` as in nginx's PCRE. With nginx installed, `nginx -t` also checks the file itself.
"""

import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from backend.core.bodies import body_limit, small_limit
from tests.support.routes import all_endpoints, fill_path

CONF = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"
SIZE = re.compile(r"client_max_body_size\s+(\d+)([km]?);")
UNITS = {"": 1, "k": 2**10, "m": 2**20}


class _Ids:
    def uuid_for(self, _name: str):
        return uuid.uuid4()


def _https_server() -> str:
    text = CONF.read_text(encoding="utf-8")
    return text[text.index("listen 443"):]


def _size(block: str) -> int | None:
    found = SIZE.search(block)
    return int(found.group(1)) * UNITS[found.group(2)] if found else None


def _regex_locations(server: str) -> list[tuple[re.Pattern, str]]:
    """(pattern, body) of each `location ~ … { … }` (these blocks hold no nested braces)."""
    return [(re.compile(m.group(1)), m.group(2))
            for m in re.finditer(r"location ~ (\S+) \{(.*?)\n    \}", server, re.S)]


def _server_level(server: str) -> str:
    return re.sub(r"\n    location [^{]*\{.*?\n    \}", "", server, flags=re.S)


def _limit_for(server: str, path: str) -> int:
    """nginx's limit for `path`: the first regex location that matches (as nginx picks), else the server's."""
    for pattern, body in _regex_locations(server):
        if pattern.search(path):
            return _size(body) or _size(_server_level(server))
    return _size(_server_level(server))


def test_every_file_route_has_its_limit_and_every_other_route_the_small_one(app):
    server = _https_server()
    small = _size(_server_level(server))
    assert small is not None and small_limit() <= small <= 2 * 2**20, "the server-wide cap is small"
    files = others = 0
    for endpoint in all_endpoints(app):
        if endpoint.method not in {"POST", "PUT", "PATCH"}:
            continue
        path = fill_path(endpoint.path, endpoint.route, _Ids())
        limit, upload = body_limit(app, {"path": path, "method": endpoint.method})
        nginx = _limit_for(server, path)
        if upload:
            files += 1
            assert limit <= nginx, (endpoint.key, f"nginx {nginx // 2**20} MB < app {limit / 2**20:.1f} MB")
        else:
            others += 1
            assert nginx == small, (endpoint.key, "a route that takes no file gets an upload location")
    assert files == 9 and others > 50


def test_timeouts_for_headers_and_bodies_are_set():
    level = _server_level(_https_server())
    assert re.search(r"client_header_timeout\s+\d+s;", level)
    assert re.search(r"client_body_timeout\s+\d+s;", level)


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_nginx_accepts_the_file(tmp_path):
    """`nginx -t` on the file inside a minimal http block, with a throw-away certificate in place of the real one."""
    text = CONF.read_text(encoding="utf-8")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=luoshi.test", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    text = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", text)
    text = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", text)
    text = text.replace("/var/log/nginx/", f"{tmp_path}/")
    (tmp_path / "luoshi.conf").write_text(text, encoding="utf-8")
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n    access_log off;\n    include {tmp_path}/luoshi.conf;\n}}\n", encoding="utf-8")
    result = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
