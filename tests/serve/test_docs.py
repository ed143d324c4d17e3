"""The API documentation works offline: /docs and /redoc load their scripts and styles from the
service itself (uvicorn on loopback, the toy model), Swagger UI renders the schema in a real
headless Chromium that requests nothing from elsewhere, and /metrics counts each page under its
own route."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO
from tests.scoring.chromium import Chromium, find_chromium
from tests.server import serving


@pytest.fixture(scope="module")
def server(toy_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log_file = tmp_path_factory.mktemp("docs-server") / "server.log"
    env = {**os.environ, "MODERATION_THREADS": "1"}
    with serving([sys.executable, "-m", "moderation.cli", "serve", "--model", str(toy_model)],
                 cwd=REPO, env=env, log=log_file) as url:
        yield url


class References(HTMLParser):
    """Every URL a page refers to: src, href and spec-url (ReDoc) attributes, and url: in
    inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href", "spec-url") and value]
        self._script = tag == "script"

    def handle_data(self, data: str) -> None:
        if self._script:
            self.urls += re.findall(r"""url:\s*['"]([^'"]+)['"]""", data)


def references(html: str) -> list[str]:
    parser = References()
    parser.feed(html)
    return parser.urls


@pytest.mark.parametrize(("page", "assets"), [
    ("/docs", {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css",
               "/docs/assets/favicon.png", "/openapi.json"}),
    ("/redoc", {"/docs/assets/redoc.standalone.js", "/docs/assets/favicon.png", "/openapi.json"}),
])
def test_documentation_pages_refer_only_to_assets_the_service_serves(
    server: str, page: str, assets: set[str]
) -> None:
    answer = httpx.get(server + page)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    urls = references(answer.text)
    assert set(urls) == assets, urls  # all local: no CDN, no font service
    for url in urls:
        asset = httpx.get(server + url)
        assert asset.status_code == 200 and len(asset.content) > 100, url
    script = httpx.get(server + "/docs/assets/swagger-ui-bundle.js")
    assert script.headers["content-type"].startswith("text/javascript") and b"SwaggerUIBundle" in script.content
    assert httpx.get(server + "/docs/assets/swagger-ui.css").headers["content-type"].startswith("text/css")
    # only the listed files: nothing else of the file system is reachable through the route
    for name in ("core.py", "..%2F__init__.py", "swagger-ui-bundle.js.map"):
        assert httpx.get(f"{server}/docs/assets/{name}").status_code == 404


def test_metrics_count_the_documentation_under_its_own_routes(server: str) -> None:
    for path in ("/docs", "/openapi.json", "/docs/assets/swagger-ui.css"):
        assert httpx.get(server + path).status_code == 200
    text = httpx.get(f"{server}/metrics").text
    for route in ("/docs", "/openapi.json", "/docs/assets/{name}"):
        assert re.search(rf'moderation_http_requests_total\{{method="GET",route="{re.escape(route)}",'
                         r'status="200"\} [1-9]', text), route
    assert 'route="unmatched",status="200"' not in text


def test_swagger_ui_renders_the_schema_in_chromium_from_local_assets(server: str, tmp_path: Path) -> None:
    binary = find_chromium()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/install-browser installs it")
        pytest.skip("chromium is not installed (apt-get install chromium); this browser test needs it")
    browser = Chromium(binary, tmp_path / "profile")
    try:
        browser.open(server + "/docs")
        deadline = time.monotonic() + 30
        operations: list[str] = []
        while time.monotonic() < deadline and not operations:
            operations = browser.evaluate(
                "Array.from(document.querySelectorAll('.opblock-summary-path'))"
                ".map(e => e.getAttribute('data-path'))")
            time.sleep(0.2)
        assert "/v1/score" in operations and "/v1/threads" in operations
        requested = browser.requested_urls()
        assert requested and all(url.startswith(server + "/") for url in requested), requested
    finally:
        browser.close()
