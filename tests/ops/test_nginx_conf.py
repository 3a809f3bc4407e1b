"""deploy/nginx.conf agrees with the app's body limits (backend/core/bodies.py), read from the app's route table.

nginx refuses a big body to a route that takes no file (a 50 MB POST /login) before it reaches the app, and lets
every route marked `@takes_files` take its file: each is covered by a location whose `client_max_body_size` is at
least the app's limit for it. The locations' regular expressions are simple enough to mean the same in Python's
`re` as in nginx's PCRE. With nginx installed, `nginx -t` also checks the file itself.
"""

import contextlib
import re
import shutil
import socket
import ssl
import subprocess
import time
import uuid
from pathlib import Path

import httpx
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


def _runnable_copy(tmp_path: Path, port: int | None = None) -> Path:
    """The file inside a minimal http block, with a throw-away certificate in place of the real one (and, with
    `port`, listening there instead of 443, in front of an upstream port where nothing listens)."""
    text = CONF.read_text(encoding="utf-8")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=luoshi.test", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    text = re.sub(r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};", text)
    text = re.sub(r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};", text)
    text = text.replace("/var/log/nginx/", f"{tmp_path}/")
    if port is not None:
        text = text.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{port} ssl;").replace("listen 80;", "")
        text = text.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{_free_port()};")
    (tmp_path / "luoshi.conf").write_text(text, encoding="utf-8")
    temp = "".join(f"    {name}_temp_path {tmp_path}/{name};\n" for name in ("client_body", "proxy", "fastcgi",
                                                                                "uwsgi", "scgi"))
    conf = tmp_path / "nginx.conf"
    # `user root`: its workers must write request bodies under tmp_path (ignored when not started as root).
    conf.write_text(f"user root;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\ndaemon off;\n"
                    f"events {{}}\nhttp {{\n    access_log off;\n{temp}    include {tmp_path}/luoshi.conf;\n}}\n",
                    encoding="utf-8")
    return conf


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_nginx_accepts_the_file(tmp_path):
    conf = _runnable_copy(tmp_path)
    result = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_a_real_nginx_refuses_a_big_sign_in_and_lets_an_upload_through(tmp_path):
    """No app behind it: a body nginx lets through meets a 502 (no upstream), one it refuses its own 413."""
    port = _free_port()
    process = subprocess.Popen(["nginx", "-p", str(tmp_path), "-c", str(_runnable_copy(tmp_path, port))])
    try:
        trust = ssl.create_default_context(cafile=tmp_path / "cert.pem")
        with httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=trust, timeout=30) as client:
            for _attempt in range(100):
                with contextlib.suppress(httpx.TransportError):
                    client.get("/healthz")
                    break
                time.sleep(0.1)
            big = b"x" * (30 * 2**20)
            login = client.post("/login", content=big, headers={"content-type": "application/x-www-form-urlencoded"})
            assert login.status_code == 413 and "提交的内容太大" in login.text
            upload = client.post(f"/api/v1/tasks/{uuid.uuid4()}/evidence", content=big,
                                 headers={"content-type": "multipart/form-data; boundary=x"})
            assert upload.status_code == 502  # past nginx's size check, on to the (absent) app
    finally:
        process.terminate()
        process.wait(timeout=15)
