"""The console in a real browser: headless Debian Chromium (tests/chromium.py) against
`make run`'s stack (tests/stack.py), used as an editor would, with the keyboard and the
mouse. axe-core (console/node_modules, injected by Selenium: nothing is fetched) checks
every screen for serious and critical accessibility violations; each screen's screenshot
goes to artifacts/console/.

One stack serves the module: the editor's whole journey; a read token's view; a stale
edit's 412; and a rollback from the history."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Callable, Dict, Iterator, List

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from infra.resources import PROJECT_DIR
from tests.chromium import chromium
from tests.stack import Http, LocalStack, mmctl_token, running_stack

pytestmark = pytest.mark.e2e

ARTIFACTS = PROJECT_DIR / "artifacts" / "console"
AXE = PROJECT_DIR / "console" / "node_modules" / "axe-core" / "axe.min.js"
ADMIN_TOKEN = f"console-admin-{uuid.uuid4().hex[:12]}"
WAIT = 20.0
HERO_SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string", "description": "The hero's headline"}, "dark": {"type": "boolean"}},
    "required": ["title"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with running_stack(tmp_path_factory.mktemp("console-stack"), ADMIN_TOKEN) as local:
        yield local


@pytest.fixture(scope="module")
def http(stack: LocalStack) -> Http:
    return Http(stack, ADMIN_TOKEN)


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    if not AXE.is_file():
        pytest.fail(f"{AXE} missing: `make console` installs the console's npm packages (axe-core among them)")
    with chromium(window="1280,1000") as driver:
        yield driver


# --- how a person uses the page ------------------------------------------------------------


def wait_until(browser: webdriver.Chrome, what: str, found: Callable[[webdriver.Chrome], Any]) -> Any:
    try:
        return WebDriverWait(browser, WAIT, ignored_exceptions=(StaleElementReferenceException,)).until(found)
    except TimeoutException as exc:
        shot(browser, "timeout-" + re.sub(r"[^a-z0-9]+", "-", what.lower())[:40])
        logged = "\n".join(str(entry["message"]) for entry in browser.get_log("browser"))  # type: ignore[no-untyped-call]
        text = browser.find_element(By.TAG_NAME, "body").text
        raise AssertionError(f"waited {WAIT}s for {what}; the page says:\n{text}\n{logged}") from exc


def visible(browser: webdriver.Chrome, css: str, text: str = "") -> WebElement:
    def seen(driver: webdriver.Chrome) -> Any:
        for element in driver.find_elements(By.CSS_SELECTOR, css):
            if element.is_displayed() and text in element.text:
                return element
        return None

    element: WebElement = wait_until(browser, f"{css} {text}", seen)
    return element


def field(browser: webdriver.Chrome, label: str) -> WebElement:
    """The control a visible <label> names, as a screen reader finds it."""
    element: WebElement = wait_until(
        browser,
        f"the field {label!r}",
        lambda driver: next(
            (
                driver.find_element(By.ID, found.get_attribute("for"))
                for found in driver.find_elements(By.TAG_NAME, "label")
                if found.text.strip() == label and found.is_displayed()
            ),
            None,
        ),
    )
    return element


def fill(browser: webdriver.Chrome, label: str, value: str) -> None:
    element = field(browser, label)
    element.clear()
    element.send_keys(value)


def choose(browser: webdriver.Chrome, label: str, option: str) -> None:
    Select(field(browser, label)).select_by_visible_text(option)


def button(browser: webdriver.Chrome, text: str) -> WebElement:
    def find(driver: webdriver.Chrome) -> Any:
        for element in driver.find_elements(By.TAG_NAME, "button"):
            if element.is_displayed() and element.text.strip() == text and element.is_enabled():
                return element
        return None

    element: WebElement = wait_until(browser, f"an enabled button {text!r}", find)
    return element


def press(browser: webdriver.Chrome, text: str) -> None:
    button(browser, text).click()


def buttons(browser: webdriver.Chrome) -> List[str]:
    return [element.text.strip() for element in browser.find_elements(By.TAG_NAME, "button") if element.is_displayed()]


def link(browser: webdriver.Chrome, text: str) -> None:
    visible(browser, "a", text).click()


def finished(browser: webdriver.Chrome, label: str) -> str:
    """Waits for the write labelled `label` to end; answers its phase and words (the last
    write that ended is also shown above every screen, after a change of screen too)."""

    def ended(driver: webdriver.Chrome) -> Any:
        for element in driver.find_elements(By.CSS_SELECTOR, ".progress"):
            phase = element.get_attribute("data-phase")
            if label in element.text and phase in ("succeeded", "failed", "refused"):
                return f"{phase}: {element.text}"
        return None

    outcome: str = wait_until(browser, f"{label} to finish", ended)
    return outcome


def succeeded(browser: webdriver.Chrome, label: str) -> None:
    outcome = finished(browser, label)
    assert outcome.startswith("succeeded"), outcome


def in_editor(browser: webdriver.Chrome, css: str, text: str = "") -> WebElement:
    """An element of the code editor, which lives in a shadow root of its own."""

    def seen(driver: webdriver.Chrome) -> Any:
        for host in driver.find_elements(By.CSS_SELECTOR, ".code"):
            for element in host.shadow_root.find_elements(By.CSS_SELECTOR, css):
                if element.is_displayed() and text in element.text:
                    return element
        return None

    element: WebElement = wait_until(browser, f"{css} {text} in the editor", seen)
    return element


def in_editor_all(browser: webdriver.Chrome, css: str) -> List[WebElement]:
    host = browser.find_element(By.CSS_SELECTOR, ".code")
    return list(host.shadow_root.find_elements(By.CSS_SELECTOR, css))


def type_settings(browser: webdriver.Chrome, text: str) -> None:
    """Replaces the code editor's text by typing it, as a person would (one line: the
    editor closes brackets and quotes, and typing the closing one steps over it)."""
    editor = in_editor(browser, ".cm-content")
    editor.click()
    ActionChains(browser).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).send_keys(Keys.DELETE).perform()
    assert editor_text(browser) == ""
    editor.send_keys(text)


def editor_text(browser: webdriver.Chrome) -> str:
    lines = "return [...document.querySelector('.code').shadowRoot.querySelectorAll('.cm-line')]"
    return str(browser.execute_script(lines + ".map(line => line.textContent).join('\\n')"))


def check_phase(browser: webdriver.Chrome, phase: str) -> WebElement:
    return visible(browser, f".check[data-phase='{phase}']")


def sign_in(browser: webdriver.Chrome, stack: LocalStack, token: str) -> None:
    browser.get(f"{stack.url}/console")
    signed_in = "//button[normalize-space()='Sign out']"
    wait_until(
        browser,
        "the console",
        lambda driver: driver.find_elements(By.XPATH, f"{signed_in} | //h1[starts-with(., 'Sign in')]"),
    )
    if browser.find_elements(By.XPATH, signed_in):
        press(browser, "Sign out")
        assert browser.execute_script("return sessionStorage.length") == 0
    fill(browser, "API token", token)
    press(browser, "Sign in")
    visible(browser, "h1", "Sites")


def shot(browser: webdriver.Chrome, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def accessible(browser: webdriver.Chrome, screen: str) -> None:
    """axe-core on the screen as it is: no serious or critical violation; and its screenshot."""
    browser.execute_script(AXE.read_text())
    result: Dict[str, Any] = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r), e => done({error: String(e)}));"
    )
    assert "error" not in result, result
    bad = [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        for violation in result["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    shot(browser, screen)
    assert not bad, f"{screen}: {bad}"


def live(stack: LocalStack, site: str, page: str) -> Dict[str, Any]:
    answer = requests.get(f"{stack.url}/sites/{site}/pages/{page}", timeout=10)
    assert answer.status_code == 200, answer.text
    body: Dict[str, Any] = answer.json()
    return body


# --- the tests ---------------------------------------------------------------------------------


def test_an_editors_whole_journey(browser: webdriver.Chrome, stack: LocalStack, http: Http) -> None:
    site = "journey"
    browser.get(f"{stack.url}/console")
    visible(browser, "h1", "Sign in")
    accessible(browser, "01-sign-in")
    fill(browser, "API token", "not-a-token")
    press(browser, "Sign in")
    assert "the API does not know this token" in visible(browser, ".field .error").text
    sign_in(browser, stack, ADMIN_TOKEN)
    accessible(browser, "02-sites")
    assert browser.execute_script("return sessionStorage.length") == 1
    assert browser.execute_script("return localStorage.length") == 0
    assert ADMIN_TOKEN not in browser.current_url

    # A site in review mode.
    fill(browser, "Slug", site)
    fill(browser, "Name", "Journey shop")
    fill(browser, "Allowed origins", "https://journey.example")
    choose(browser, "Publish mode", "review")
    press(browser, "Create site")
    succeeded(browser, f"Creating site {site}")
    link(browser, site)
    visible(browser, "h1", "Journey shop")
    accessible(browser, "03-site-pages")

    # A schema, with its impact report before it is saved.
    link(browser, "Schemas")
    visible(browser, "#schemas-heading")
    accessible(browser, "04-schemas")
    link(browser, "New schema")
    fill(browser, "Layout", "hero")
    type_settings(browser, json.dumps(HERO_SCHEMA))
    press(browser, "Check impact")
    assert "0 config(s) checked; none would be rejected" in visible(browser, ".impact").text
    accessible(browser, "05-schema-impact")
    press(browser, "Save schema")
    succeeded(browser, "Saving the schema of hero")
    visible(browser, ".status-line", "Version 1")

    # A config with a schema error, seen at the field, then fixed.
    browser.get(f"{stack.url}/console#/sites/{site}/new")
    fill(browser, "Page slug", "home")
    assert Select(field(browser, "Layout")).first_selected_option.text == "hero"
    fill(browser, "Theme", "dark")
    type_settings(browser, '{"title": 42}')
    check_phase(browser, "invalid")
    problem = visible(browser, ".problems li", "settings/title")
    assert "is not of type" in problem.text or "string" in problem.text, problem.text
    marked = in_editor(browser, ".cm-lintRange-error")
    assert marked.text in ('"title": 42', "42", '"title"'), marked.text
    accessible(browser, "06-config-schema-error")
    type_settings(browser, '{"title": "Hello", "dark": tr')
    check_phase(browser, "syntax")
    assert "line 1, column" in visible(browser, ".check", "JSON syntax error").text
    type_settings(browser, '{"title": "Hello", "dark": true}')
    check_phase(browser, "valid")
    press(browser, "Create page")
    succeeded(browser, "Creating page home")
    visible(browser, ".status-line", "Version 1, not published")
    config_id = browser.current_url.rsplit("/", 1)[-1]

    # Completion from the schema: the property it has not got yet.
    type_settings(browser, '{"title": "Hello", ')
    ActionChains(browser).key_down(Keys.CONTROL).send_keys(" ").key_up(Keys.CONTROL).perform()
    option = in_editor(browser, ".cm-tooltip-autocomplete li", "dark")
    offered = [item.text for item in in_editor_all(browser, ".cm-tooltip-autocomplete li")]
    assert not [item for item in offered if "title" in item], offered  # it has a title already
    option.click()
    assert '"dark": ' in editor_text(browser)

    # A draft in review mode: published once, then a new draft, the diff before saving.
    browser.get(f"{stack.url}/console#/configs/{config_id}")
    press(browser, "Publish version 1…")
    assert "title" in visible(browser, ".publish table.diff").text
    press(browser, "Confirm: publish version 1")
    succeeded(browser, "Publishing version 1")
    assert live(stack, site, "home")["settings"] == {"title": "Hello", "dark": True}
    visible(browser, ".status-line", "Version 1, published")
    type_settings(browser, '{"title": "Winter sale", "dark": true}')
    check_phase(browser, "valid")
    press(browser, "Review changes")
    review = visible(browser, "#review table.diff")
    assert "settings/title" in review.text
    assert '"Hello"' in review.text
    assert '"Winter sale"' in review.text
    accessible(browser, "07-config-review")
    press(browser, "Save draft")
    succeeded(browser, "Saving the draft")
    visible(browser, ".status-line", "Version 2, draft ahead (version 2)")
    assert live(stack, site, "home")["settings"]["title"] == "Hello"  # the draft is not live

    # A preview link shows the draft to whoever holds it.
    link(browser, "History and previews")
    visible(browser, "tr[data-version='2']")
    press(browser, "Create preview link")
    succeeded(browser, "Creating a preview link")
    url = field(browser, "Preview link (shown once)").get_attribute("value")
    assert url is not None
    assert url.startswith(f"{stack.url}/preview/sites/{site}/pages/home?token=")
    preview = requests.get(url, timeout=10)
    assert preview.status_code == 200
    assert preview.json()["settings"]["title"] == "Winter sale"
    accessible(browser, "08-history-previews")
    press(browser, "Create preview link")
    succeeded(browser, "Creating a preview link")
    assert len(browser.find_elements(By.XPATH, "//button[normalize-space()='Revoke']")) == 2
    revoked = field(browser, "Preview link (shown once)").get_attribute("value")
    assert revoked is not None
    assert revoked != url
    browser.find_elements(By.XPATH, "//button[normalize-space()='Revoke']")[0].click()  # the newest first
    succeeded(browser, "Revoking the preview link")
    wait_until(
        browser,
        "one link left",
        lambda driver: len(driver.find_elements(By.XPATH, "//button[normalize-space()='Revoke']")) == 1,
    )
    assert requests.get(revoked, timeout=10).status_code in (401, 403, 404)
    assert requests.get(url, timeout=10).status_code == 200

    # A release that needs an approval from another token.
    browser.get(f"{stack.url}/console#/sites/{site}/settings")
    fill(browser, "Required approvals", "1")
    press(browser, "Save settings")
    succeeded(browser, f"Saving site {site}")
    accessible(browser, "09-site-settings")
    link(browser, "Releases")
    visible(browser, "label", "home, version 2")
    accessible(browser, "09b-releases")
    fill(browser, "Title", "Winter")
    visible(browser, "label", "home, version 2").click()
    press(browser, "Create release")
    succeeded(browser, 'Creating release "Winter"')
    visible(browser, "#release-heading", "Winter")
    assert "open" in visible(browser, "#release-heading .badge").text
    press(browser, "Approve")
    refused = finished(browser, "Approve: Winter")
    assert "approved by a token other than the one that created it" in refused, refused
    accessible(browser, "10-release")
    release_url = browser.current_url

    reviewer = mmctl_token(stack, "write", name="second reviewer")
    sign_in(browser, stack, reviewer)
    browser.get(release_url)
    press(browser, "Approve")
    succeeded(browser, "Approve: Winter")
    visible(browser, "#release-heading .badge", "approved")
    press(browser, "Publish now")
    succeeded(browser, "Publish now: Winter")
    visible(browser, "#release-heading .badge", "published")
    assert live(stack, site, "home")["settings"]["title"] == "Winter sale"

    # Rolled back: the release reverted, the page serves what it did before.
    press(browser, "Revert")
    succeeded(browser, "Revert: Winter")
    visible(browser, "#release-heading .badge", "reverted")
    assert live(stack, site, "home")["settings"]["title"] == "Hello"

    # A release scheduled for later, then cancelled.
    link(browser, "All releases")
    fill(browser, "Title", "Later")
    visible(browser, "label", "home, version 2").click()
    later = field(browser, "Publish at (your local time; empty: when published by hand)")
    when = (datetime.now() + timedelta(days=30)).replace(second=0, microsecond=0)
    browser.execute_script(
        "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}))",
        later,
        when.strftime("%Y-%m-%dT%H:%M"),
    )
    press(browser, "Create release")
    succeeded(browser, 'Creating release "Later"')
    visible(browser, "#release-heading", "Later")
    assert when.astimezone(UTC).strftime("%Y-%m-%d %H:%M") in visible(browser, ".facts").text
    press(browser, "Cancel")
    succeeded(browser, "Cancel: Later")
    visible(browser, "#release-heading .badge", "cancelled")
    link(browser, "All releases")
    statuses = visible(browser, "table.list tbody").text
    assert "cancelled" in statuses
    assert "reverted" in statuses

    # The audit log has it, with who did it.
    sign_in(browser, stack, ADMIN_TOKEN)
    browser.get(f"{stack.url}/console#/sites/{site}/audit")
    approval = visible(browser, "tr[data-type='release.approve']")
    assert "second reviewer" in approval.text
    visible(browser, "tr[data-type='release.revert']")
    accessible(browser, "11-audit")


def test_a_read_token_is_offered_no_write_control(browser: webdriver.Chrome, stack: LocalStack, http: Http) -> None:
    site = "reading"
    http.applied("PUT", f"/sites/{site}", {"name": "Reading shop"})
    http.applied("PUT", f"/sites/{site}/schemas/hero", {"schema": HERO_SCHEMA})
    created = http.applied(
        "POST",
        "/metadata",
        {"site": site, "page": "home", "layout": "hero", "theme": "dark", "settings": {"title": "Hi"}},
    )
    sign_in(browser, stack, mmctl_token(stack, "read", name="reader"))
    visible(browser, ".who", "read")
    assert "Create site" not in buttons(browser)
    assert not browser.find_elements(By.LINK_TEXT, "Operations")
    link(browser, site)
    visible(browser, "tr[data-page='home']")
    assert not browser.find_elements(By.LINK_TEXT, "New page")
    assert not browser.find_elements(By.LINK_TEXT, "Audit log")
    assert not browser.find_elements(By.LINK_TEXT, "Webhooks")
    accessible(browser, "12-read-token-pages")
    browser.get(f"{stack.url}/console#/configs/{created['resourceId']}")
    visible(browser, ".status-line", "Version 1")
    assert in_editor(browser, ".cm-content").get_attribute("contenteditable") == "false"
    assert not {"Save and publish", "Save draft", "Review changes"} & set(buttons(browser))
    visible(browser, ".check", "Read only")
    accessible(browser, "13-read-token-config")
    link(browser, "History and previews")
    visible(browser, "tr[data-version='1']")
    assert not {"Publish this version", "Create preview link", "Revoke"} & set(buttons(browser))
    browser.get(f"{stack.url}/console#/sites/{site}/releases")
    visible(browser, "#releases-heading")
    assert "Create release" not in buttons(browser)
    accessible(browser, "13b-read-token-releases")
    browser.get(f"{stack.url}/console#/sites/{site}/schemas/hero")
    visible(browser, "#schema-heading")
    assert not {"Check impact", "Save schema", "Delete schema"} & set(buttons(browser))
    browser.get(f"{stack.url}/console#/sites/{site}/settings")
    visible(browser, ".facts")
    assert "Save settings" not in buttons(browser)


def test_a_stale_edit_is_refused_and_offers_their_version(
    browser: webdriver.Chrome, stack: LocalStack, http: Http
) -> None:
    site = "stale"
    http.applied("PUT", f"/sites/{site}", {"name": "Stale shop"})
    created = http.applied(
        "POST",
        "/metadata",
        {"site": site, "page": "home", "layout": "plain", "theme": "dark", "settings": {"title": "Mine"}},
    )
    config_id = created["resourceId"]
    sign_in(browser, stack, ADMIN_TOKEN)
    browser.get(f"{stack.url}/console#/configs/{config_id}")
    visible(browser, ".status-line", "Version 1")
    # The theme is offered from those the site's pages use.
    offered = [option.get_attribute("value") for option in browser.find_elements(By.CSS_SELECTOR, "#themes option")]
    assert offered == ["dark"]
    # Someone else saves while this editor is open.
    http.applied(
        "PUT", f"/metadata/{config_id}", {"layout": "plain", "theme": "light", "settings": {"title": "Theirs"}}
    )
    type_settings(browser, '{"title": "Mine, edited"}')
    check_phase(browser, "valid")
    press(browser, "Save and publish")
    refused = finished(browser, "Saving")
    assert refused.startswith("refused"), refused
    conflict = visible(browser, ".conflict", "Someone else saved first")
    assert "Version 2 was saved while you edited" in conflict.text
    assert '"Theirs"' in conflict.text
    assert "theme" in conflict.text
    accessible(browser, "14-conflict")
    press(browser, "Reload their version (drop my edits)")
    assert json.loads(editor_text(browser)) == {"title": "Theirs"}
    assert field(browser, "Theme").get_attribute("value") == "light"
    type_settings(browser, '{"title": "Mine, on theirs"}')
    check_phase(browser, "valid")
    press(browser, "Save and publish")
    succeeded(browser, "Saving")
    assert live(stack, site, "home")["settings"] == {"title": "Mine, on theirs"}


def test_publish_this_version_rolls_the_page_back(browser: webdriver.Chrome, stack: LocalStack, http: Http) -> None:
    site = "rollback"
    http.applied("PUT", f"/sites/{site}", {"name": "Rollback shop"})
    created = http.applied(
        "POST", "/metadata", {"site": site, "page": "home", "layout": "plain", "theme": "dark", "settings": {"n": 1}}
    )
    config_id = created["resourceId"]
    http.applied("PUT", f"/metadata/{config_id}", {"layout": "plain", "theme": "dark", "settings": {"n": 2}})
    sign_in(browser, stack, ADMIN_TOKEN)
    browser.get(f"{stack.url}/console#/configs/{config_id}/history")
    row = visible(browser, "tr[data-version='1']")
    row.find_element(By.XPATH, ".//button[normalize-space()='Publish this version']").click()
    press(browser, "Roll back to version 1…")
    assert "settings/n" in visible(browser, ".publish table.diff").text
    press(browser, "Confirm: roll back to version 1")
    succeeded(browser, "Publishing version 1")
    assert live(stack, site, "home")["settings"] == {"n": 1}
    visible(browser, "tr[data-version='1']", "published")
    press(browser, "Compare")
    visible(browser, "table.diff", "settings/n")


def test_the_admin_screens_pass_axe(browser: webdriver.Chrome, stack: LocalStack, http: Http) -> None:
    site = "admin-screens"
    http.applied("PUT", f"/sites/{site}", {"name": "Admin shop"})
    sign_in(browser, stack, ADMIN_TOKEN)
    browser.get(f"{stack.url}/console#/sites/{site}/webhooks")
    fill(browser, "Name", "cdn")
    fill(browser, "URL", "http://127.0.0.1:9/hook")
    press(browser, "Create webhook")
    succeeded(browser, "Creating webhook cdn")
    assert visible(browser, ".secret code").text.startswith("whsec_")
    link(browser, "cdn")
    press(browser, "Send a test event")
    visible(browser, ".progress", "queued")
    press(browser, "Rotate the secret")
    succeeded(browser, "Rotating the signing secret")
    visible(browser, ".secret code")
    accessible(browser, "15-webhook")
    link(browser, "Operations")
    visible(browser, "#backups-heading")
    press(browser, "Redrive")
    visible(browser, "[role=status]", "Moved 0")
    accessible(browser, "16-operations")


def test_keyboard_alone_signs_in_and_moves_through_the_console_in_order(
    browser: webdriver.Chrome, stack: LocalStack
) -> None:
    browser.get(f"{stack.url}/console")
    signed_in = "//button[normalize-space()='Sign out']"
    wait_until(browser, "the console", lambda driver: driver.find_elements(By.XPATH, f"{signed_in} | //h1"))
    if browser.find_elements(By.XPATH, signed_in):
        press(browser, "Sign out")
    heading = visible(browser, "h1", "Sign in")
    # Each screen starts at its heading.
    wait_until(browser, "the focus on the heading", lambda driver: driver.switch_to.active_element == heading)
    ActionChains(browser).send_keys(Keys.TAB).perform()
    assert browser.switch_to.active_element.get_attribute("name") == "token"
    ActionChains(browser).send_keys(ADMIN_TOKEN, Keys.ENTER).perform()
    sites = visible(browser, "h1", "Sites")
    wait_until(browser, "the focus on the heading", lambda driver: driver.switch_to.active_element == sites)
    # Backwards from the heading: the header, in reading order, from its end.
    order = []
    for _ in range(5):
        ActionChains(browser).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
        order.append(browser.switch_to.active_element.text.strip())
    assert order == ["Sign out", "Operations", "Sites", "Metadata Manager", "Skip to content"], order
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    assert browser.switch_to.active_element.get_attribute("id") == "main"
    # Forwards from there: the screen's own controls.
    ActionChains(browser).send_keys(Keys.TAB).perform()
    inside = "return document.getElementById('main').contains(document.activeElement)"
    assert browser.execute_script(inside)
    assert browser.switch_to.active_element.get_attribute("id") != "main"
