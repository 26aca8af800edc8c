"""Service fixtures: settings over the session's real index, an in-process client, a keyed real server."""

from __future__ import annotations

import functools
import http.server
import json
import secrets
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from tests.helpers import MODELS, ROOT, SEEDS
from tests.servers import LOCAL, Server, running_server


@pytest.fixture(scope="session")
def settings(built_index) -> Settings:
    """The session's index over the seeds; the corpus database beside it holds the seeds as one document."""
    config, _ = built_index
    return Settings(
        seeds_dir=SEEDS,
        var_dir=config.index_dir.parent,
        index_dir=config.index_dir,
        models_dir=MODELS,
        cache_dir=config.cache_dir,
        rate_limit_per_minute=0,  # in-process tests ask many questions at once; limits are tested in test_portal
    )


@pytest.fixture(scope="session")
def client(settings: Settings, embedder):
    with TestClient(create_app(settings, embedder=embedder), client=LOCAL) as test_client:
        yield test_client


@dataclass(frozen=True)
class Portal:
    """A real server with keys of every role, and a second origin serving a page that embeds the widget."""

    server: Server
    query_key: str
    admin_key: str
    widget_key: str
    spare_query_key: str  # for draining a rate limit without slowing the other tests
    page_origin: str  # on the widget key's list
    foreign_origin: str  # the same page, from an origin not on the list

    @property
    def base(self) -> str:
        return self.server.base

    def embed_url(self, origin: str, key: str | None = None) -> str:
        return f"{origin}/embed.html?key={key or self.widget_key}"

    def auth(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}


EMBED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Intranet portal</title></head>
<body style="margin:0;font-family:sans-serif">
<h1 style="font-size:18px;margin:8px">Intranet portal</h1>
<div style="height:760px;padding:0 8px"><concord-chat id="chat" style="height:100%"></concord-chat></div>
<script>
  document.getElementById("chat").setAttribute("api-key", new URLSearchParams(location.search).get("key"));
</script>
<script src="{api}/-/static/widget.js"></script>
</body></html>
"""


@contextmanager
def page_host(folder: Path) -> Iterator[int]:
    """A static file server on another port: a second origin, as an intranet portal would be."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def portal(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path, built_index) -> Iterator[Portal]:
    """One keyed server for the portal-API and browser tests (built_index first: the embeddings are cached)."""
    root = tmp_path_factory.mktemp("portal")
    pages = root / "pages"
    pages.mkdir()
    keys = {name: secrets.token_urlsafe(18) for name in ("query", "admin", "widget", "spare")}
    with page_host(pages) as page_port:
        page_origin = f"http://127.0.0.1:{page_port}"
        widget_keys = root / "widget-keys.json"
        widget_keys.write_text(json.dumps({keys["widget"]: [page_origin]}), encoding="utf-8")
        settings = {
            "CONCORD_VAR_DIR": str(root / "var"),
            "CONCORD_MODELS_DIR": str(MODELS),
            "CONCORD_CACHE_DIR": str(shared_cache),
            "CONCORD_API_KEYS": f"{keys['query']},{keys['spare']}",
            "CONCORD_ADMIN_API_KEYS": keys["admin"],
            "CONCORD_WIDGET_KEYS_FILE": str(widget_keys),
            "CONCORD_RATE_LIMIT_PER_MINUTE": "600",
            "CONCORD_RATE_LIMIT_BURST": "20",
        }
        with running_server(settings, root / "server.log") as server:
            (pages / "embed.html").write_text(EMBED_PAGE.replace("{api}", server.base), encoding="utf-8")
            yield Portal(
                server=server,
                query_key=keys["query"],
                admin_key=keys["admin"],
                widget_key=keys["widget"],
                spare_query_key=keys["spare"],
                page_origin=page_origin,
                foreign_origin=f"http://localhost:{page_port}",
            )


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A real PostgreSQL server (Debian's), run by a non-root user in a temporary folder: its URL."""
    from tests.postgres import postgres_server

    with postgres_server() as url:
        yield url


SCREENSHOTS = ROOT / "test-output" / "screenshots"


def _missing_browser_packages() -> list[str]:
    missing = [] if shutil.which("chromium") else ["chromium"]
    fonts = (
        subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True)
        if shutil.which("fc-list")
        else None
    )
    if fonts is None or not fonts.stdout.strip():
        missing.append("fonts-wqy-microhei")
    return missing


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    missing = _missing_browser_packages()
    if missing:
        pytest.fail(
            f"the widget tests need Debian's {' and '.join(missing)} (without a CJK font Chinese renders as "
            f"boxes): run `make test` as root, which installs them, or `apt-get install {' '.join(missing)}`"
        )
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
        chromium = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        yield chromium
        chromium.close()
