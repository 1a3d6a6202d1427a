"""The example site in a real browser: headless Debian Chromium, driven by Selenium
through /usr/bin/chromedriver, loads `examples/site/` from one 127.0.0.1 origin and its
render config from the local stack on another.

One stack and one browser serve the module; the last test stops the stack to show the
page rendering from the config it kept. Screenshots go to artifacts/browser/.
"""

from __future__ import annotations

import re
import threading
import uuid
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List
from urllib.parse import urlencode

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from infra.resources import PROJECT_DIR
from tests.chromium import chromium
from tests.stack import Http, LocalStack, free_port, port_open, running_stack

pytestmark = pytest.mark.e2e

ARTIFACTS = PROJECT_DIR / "artifacts" / "browser"
ADMIN_TOKEN = f"browser-admin-{uuid.uuid4().hex[:12]}"
SITE = "browser-shop"
RENDER_TIMEOUT = 15.0

# The themes' background colours, from examples/site/site.css.
DARK_BACKGROUND = "rgb(16, 20, 28)"
LIGHT_BACKGROUND = "rgb(247, 247, 242)"


class ExampleSiteHandler(SimpleHTTPRequestHandler):
    """Serves the example site and the client it imports, and nothing else of the repository."""

    SERVED = ("/examples/site/", "/frontend/")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, directory=str(PROJECT_DIR), **kwargs)

    def send_head(self) -> Any:
        if not self.path.startswith(self.SERVED) or ".." in self.path:
            self.send_error(404)
            return None
        return super().send_head()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site_origin() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), ExampleSiteHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with running_stack(tmp_path_factory.mktemp("browser-stack"), ADMIN_TOKEN) as local:
        yield local


@pytest.fixture(scope="module")
def http(local_stack: LocalStack, site_origin: str) -> Http:
    api = Http(local_stack, ADMIN_TOKEN)
    api.applied("PUT", f"/sites/{SITE}", {"name": "Browser shop", "allowedOrigins": [site_origin], "cacheMaxAge": 60})
    return api


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    with chromium() as driver:
        yield driver


def create_config(http: Http, page: str, layout: str, theme: str, title: str, site: str = SITE) -> str:
    settings = {"hero": {"title": title}, "productsPerRow": 4, "sidebar": ["Shoes", "Bags"]}
    body = {"site": site, "page": page, "layout": layout, "theme": theme, "settings": settings}
    return str(http.applied("POST", "/metadata", body)["resourceId"])


def page_url(site_origin: str, stack: LocalStack, page: str, site: str = SITE) -> str:
    return f"{site_origin}/examples/site/index.html?{urlencode({'api': stack.url, 'site': site, 'page': page})}"


def rendered(browser: webdriver.Chrome, name: str) -> Dict[str, str]:
    """Waits until the page has rendered (or failed) and returns its body's data-* state."""
    try:
        WebDriverWait(browser, RENDER_TIMEOUT).until(lambda driver: body_data(driver)["state"] != "loading")
    except TimeoutException as exc:
        screenshot(browser, f"timeout-{name}")
        raise AssertionError(f"the page did not render: {browser.page_source}\n{console(browser)}") from exc
    return body_data(browser)


def console(browser: webdriver.Chrome) -> str:
    """What the page logged to the console since the last call (Chromium's CORS errors among it)."""
    entries: List[Dict[str, Any]] = browser.get_log("browser")  # type: ignore[no-untyped-call]
    return "\n".join(str(entry["message"]) for entry in entries)


def body_data(browser: webdriver.Chrome) -> Dict[str, str]:
    data: Dict[str, str] = browser.execute_script("return {...document.body.dataset}")
    return data


def text(browser: webdriver.Chrome, selector: str) -> str:
    return str(browser.find_element(By.CSS_SELECTOR, selector).text)


def background(browser: webdriver.Chrome) -> str:
    return str(browser.execute_script("return getComputedStyle(document.body).backgroundColor"))


def screenshot(browser: webdriver.Chrome, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    assert browser.save_screenshot(str(path)), path
    return path


def requests_logged(stack: LocalStack, method: str, path: str, status: int) -> int:
    """How often the local server's access log shows this request with this status."""
    return len(re.findall(rf'"{method} {re.escape(path)} HTTP/1\.1" {status} ', stack.output()))


def test_the_page_renders_its_layout_theme_and_title_from_the_config(
    browser: webdriver.Chrome, local_stack: LocalStack, http: Http, site_origin: str
) -> None:
    create_config(http, "home", "hero-grid", "dark", "Winter sale")
    browser.get(page_url(site_origin, local_stack, "home"))
    state = rendered(browser, "home")
    assert state == {"state": "rendered", "layout": "hero", "theme": "dark", "source": "network", "version": "1"}
    assert text(browser, "#hero #title") == "Winter sale"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#grid .card")) == 4
    assert background(browser) == DARK_BACKGROUND
    assert not browser.find_element(By.ID, "fallback-badge").is_displayed()
    assert screenshot(browser, "rendered-page").stat().st_size > 10_000


def test_an_updated_config_shows_after_a_reload_and_an_unchanged_one_costs_a_304(
    browser: webdriver.Chrome, local_stack: LocalStack, http: Http, site_origin: str
) -> None:
    config_id = create_config(http, "sale", "hero", "dark", "Before")
    path = f"/sites/{SITE}/pages/sale"
    browser.get(page_url(site_origin, local_stack, "sale"))
    assert rendered(browser, "sale")["layout"] == "hero"

    browser.refresh()
    assert rendered(browser, "sale-again")["version"] == "1"
    # The browser revalidated with the ETag it kept (If-None-Match, sent by the browser).
    assert requests_logged(local_stack, "GET", path, 304) == 1

    change = {"layout": "two-column", "theme": "light", "settings": {"hero": {"title": "After"}, "sidebar": ["Hats"]}}
    http.applied("PUT", f"/metadata/{config_id}", change)
    browser.refresh()
    state = rendered(browser, "sale-updated")
    assert (state["layout"], state["theme"], state["version"]) == ("two-column", "light", "2")
    assert text(browser, ".content #title") == "After"
    assert text(browser, "#sidebar li") == "Hats"
    assert background(browser) == LIGHT_BACKGROUND
    screenshot(browser, "rendered-page-updated")
    # A simple GET each time: never a CORS preflight.
    assert requests_logged(local_stack, "GET", path, 200) == 2
    assert "OPTIONS /sites/" not in local_stack.output()


def test_a_site_that_does_not_list_the_origin_is_refused_by_the_browser(
    browser: webdriver.Chrome, local_stack: LocalStack, http: Http, site_origin: str
) -> None:
    elsewhere = "browser-elsewhere"
    http.applied("PUT", f"/sites/{elsewhere}", {"name": "Elsewhere", "allowedOrigins": ["https://elsewhere.example"]})
    create_config(http, "home", "hero", "dark", "Not for you", site=elsewhere)
    # The API answers; it grants no CORS to this origin, so the browser keeps the answer from the page.
    direct = requests.get(f"{local_stack.url}/sites/{elsewhere}/pages/home", headers={"Origin": site_origin}, timeout=5)
    assert direct.status_code == 200
    assert "Access-Control-Allow-Origin" not in direct.headers

    console(browser)  # drop what earlier pages logged
    browser.get(page_url(site_origin, local_stack, "home", site=elsewhere))
    state = rendered(browser, "refused")
    assert (state["state"], state["errorCode"]) == ("failed", "Unavailable")
    assert text(browser, "#failure h1") == "This page cannot be shown right now."
    logged = console(browser)
    assert f"from origin '{site_origin}' has been blocked by CORS policy" in logged
    assert "No 'Access-Control-Allow-Origin' header" in logged


def test_a_preview_link_shows_the_draft_with_a_banner_and_keeps_nothing(
    browser: webdriver.Chrome, local_stack: LocalStack, http: Http, site_origin: str
) -> None:
    site = "browser-review"
    http.applied(
        "PUT", f"/sites/{site}", {"name": "Review shop", "allowedOrigins": [site_origin], "publishMode": "review"}
    )
    config_id = create_config(http, "home", "hero", "dark", "Published", site=site)
    http.applied("POST", f"/metadata/{config_id}/publish", {"version": 1})
    draft = {"layout": "single", "theme": "light", "settings": {"title": "Draft"}}
    http.applied("PUT", f"/metadata/{config_id}", draft)
    link = http.accepted("POST", f"/metadata/{config_id}/preview-links", {"expiresIn": 600})
    assert http.operation(link["operationId"])["status"] == "succeeded"

    browser.get(page_url(site_origin, local_stack, "home", site) + f"&preview={link['token']}")
    state = rendered(browser, "preview")
    assert (state["source"], state["version"], state["layout"]) == ("preview", "2", "single")
    assert text(browser, "#title") == "Draft"
    assert browser.find_element(By.ID, "preview-banner").is_displayed()
    screenshot(browser, "preview")
    stored = str(browser.execute_script("return JSON.stringify(Object.entries(localStorage))"))
    assert link["token"] not in stored
    assert "Draft" not in stored

    browser.get(page_url(site_origin, local_stack, "home", site))
    state = rendered(browser, "published")
    assert (state["source"], state["version"]) == ("network", "1")
    assert text(browser, "#title") == "Published"
    assert not browser.find_element(By.ID, "preview-banner").is_displayed()


def test_with_the_api_stopped_the_page_renders_the_last_good_config(
    browser: webdriver.Chrome, local_stack: LocalStack, http: Http, site_origin: str
) -> None:
    create_config(http, "about", "two-column", "dark", "About us")
    browser.get(page_url(site_origin, local_stack, "about"))
    assert rendered(browser, "about")["source"] == "network"

    local_stack.stop()
    assert not port_open(local_stack.port)
    browser.refresh()
    state = rendered(browser, "about-offline")
    assert state == {"state": "rendered", "layout": "two-column", "theme": "dark", "source": "fallback", "version": "1"}
    assert text(browser, ".content #title") == "About us"
    badge = browser.find_element(By.ID, "fallback-badge")
    assert badge.is_displayed()
    assert badge.text.startswith("Offline copy from ")
    screenshot(browser, "rendered-page-fallback")
