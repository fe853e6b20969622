"""The web page: the one-time login and the checks that make it safe (against a real daemon
over real TCP), and the page itself in a real headless browser — Debian's chromium driven
by Selenium through chromium-driver — against a real daemon and the Ollama-protocol test
server: log in through the link, chat with a streamed reply and an approval, see a job's
run land in the inbox and open it, add a job from its form, set a tool's policy and read
the audit log, run the doctor's checks, and the failures (an old link, no cookie).

Screenshots of each page go to $SCREENSHOTS when it is set (`make screenshots` writes
the README's), else to the test's own folder."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rung.agent.daemon.client import DaemonClient
from rung.agent.daemon.peer import tcp_peer_uid
from rung.agent.daemon.web import CODE_TTL_S, SESSION_TTL_S, Logins
from rung.config.paths import Paths
from tests.agent.daemon.conftest import start_daemon
from tests.conftest import Processes, Rung
from tests.ollama_server import OllamaTestServer, Reply


def test_a_login_code_is_good_once_and_for_two_minutes() -> None:
    now = [1000.0]
    logins = Logins(clock=lambda: now[0])
    code = logins.issue()
    session = logins.redeem(code)
    assert session is not None and logins.valid(session)
    assert logins.redeem(code) is None  # dead once used
    late = logins.issue()
    now[0] += CODE_TTL_S + 1
    assert logins.redeem(late) is None  # dead once old
    now[0] += SESSION_TTL_S
    assert not logins.valid(session)  # a session ends too
    assert not logins.valid(None) and not logins.valid("guess")


def test_the_owner_of_a_loopback_connection_is_known() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        accepted, _ = server.accept()
        with client, accepted:
            uid = tcp_peer_uid(accepted.getsockname(), accepted.getpeername())
    if uid is None:
        pytest.skip("no /proc/net/tcp on this platform: the TCP peer check is Linux's")
    assert uid == os.getuid()


@pytest.fixture
def user(rung: Rung, paths: Paths) -> Rung:
    return Rung(
        {
            **rung.env,
            "XDG_RUNTIME_DIR": os.environ["XDG_RUNTIME_DIR"],
            "RUNG_WEB_PORT": "0",  # any free port: tests run side by side
            "RUNG_MAX_TOOLS": "64",
        }
    )


@pytest.fixture
def page(processes: Processes, paths: Paths, user: Rung) -> dict[str, str]:
    """A real daemon serving the page: its url and a fresh login link."""
    start_daemon(processes, paths, user.env, warm=True)
    return DaemonClient(paths).web()


def test_the_page_is_safe_by_construction(page: dict[str, str], paths: Paths) -> None:
    url = page["url"]
    token = paths.daemon_token.read_text().strip()
    with httpx.Client() as browser:
        first = browser.get(f"{url}/jobs")
        assert first.status_code == 303 and first.headers["location"] == "/login"
        assert browser.get(f"{url}/api/v1/status").status_code == 401
        bearer = {"Authorization": f"Bearer {token}"}
        assert browser.get(f"{url}/api/v1/status", headers=bearer).status_code == 401
        login = browser.get(page["login"])
        assert login.status_code == 303 and login.headers["location"] == "/"  # no code in it
        cookie = login.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        again = browser.get(page["login"])
        assert again.status_code == 403 and "no longer good" in again.text
        home = browser.get(f"{url}/")
        assert home.status_code == 200
        csp = home.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert home.headers["referrer-policy"] == "same-origin"
        assert token not in home.text and '<script src="/static/chat.js"' in home.text
        assert browser.get(f"{url}/api/v1/status").status_code == 200  # by its cookie
        own = {"Origin": url}
        assert browser.post(f"{url}/inbox/all/read", headers=own).status_code == 303
        foreign = browser.post(f"{url}/inbox/all/read", headers={"Origin": "http://evil.test"})
        assert foreign.status_code == 403
        assert browser.post(f"{url}/inbox/all/read").status_code == 403  # no Origin at all
        asked = browser.get(f"{url}/", headers={"Origin": "http://evil.test"})
        assert not [h for h in asked.headers if h.lower().startswith("access-control-")]
        rebound = browser.get(f"{url}/", headers={"Host": "evil.test"})
        assert rebound.status_code == 421
        rendered = browser.post(
            f"{url}/render", content="**b** <img src=x onerror=alert(1)>", headers=own
        )
        assert "<strong>b</strong>" in rendered.text and "<img" not in rendered.text
        assert browser.post(f"{url}/logout", headers=own).status_code == 303
        assert browser.get(f"{url}/inbox").status_code == 303  # the session ended


# --- in a real browser ---------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """Headless chromium through chromium-driver; both stopped by pid after the test."""
    if CHROMIUM is None or DRIVER is None:
        pytest.skip("chromium and chromium-driver are not installed (Debian packages)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--no-first-run"):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    options.add_argument("--window-size=1200,900")
    service = webdriver.ChromeService(executable_path=DRIVER, log_output=subprocess.DEVNULL)
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        pid = service.process.pid if service.process else None
        driver.quit()
        if pid is not None:
            with __import__("contextlib").suppress(ProcessLookupError):
                os.kill(pid, 9)


def waiting(browser: Any, seconds: float) -> Any:
    """Waits on a condition; a page that changes under it is looked at again."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, seconds, ignored_exceptions=(StaleElementReferenceException,))


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_page_in_a_real_browser(
    ollama_server: OllamaTestServer,
    processes: Processes,
    paths: Paths,
    user: Rung,
    browser: Any,
    isolated_home: Path,
    tmp_path: Path,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    work = isolated_home / "work"
    work.mkdir()
    config = isolated_home / "config" / "rung"
    config.mkdir(parents=True, exist_ok=True)
    (config / "mcp.json").write_text(
        '{"builtins": {"files": {"roots": ["%s"]}}}' % work  # noqa: UP031
    )
    ollama_server.script(
        Reply(text="Hello! Here is **bold** and a list:\n\n- one\n- two"),
        Reply(tool_calls=[{"name": "write_file", "arguments": {"path": "a.txt", "content": "hi"}}]),
        Reply(text="Written."),
        Reply(text="Nightly report: all good."),
    )
    start_daemon(processes, paths, user.env, warm=True)
    page = DaemonClient(paths).web()
    url = page["url"]
    folder = shots(tmp_path)
    wait = waiting(browser, 20)

    browser.get(page["login"])
    wait.until(lambda d: d.find_element(By.ID, "chat").get_attribute("data-ready") == "yes")
    assert browser.current_url == f"{url}/"  # the code is gone from the address bar

    def say(text: str) -> None:
        box = browser.find_element(By.ID, "message")
        box.send_keys(text)
        box.send_keys(Keys.ENTER)

    say("Hello there")
    done = wait.until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".msg.assistant[data-done] strong")
    )
    assert done[0].text == "bold"
    assert len(browser.find_elements(By.CSS_SELECTOR, ".msg.assistant li")) == 2
    browser.save_screenshot(str(folder / "chat.png"))

    say("Write hi to a.txt")
    approve = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".msg.approval .approve"))
    assert "files:write_file" in browser.find_element(By.CSS_SELECTOR, ".msg.approval").text
    browser.save_screenshot(str(folder / "approval.png"))
    approve[0].click()
    wait.until(lambda d: "Written." in d.find_elements(By.CSS_SELECTOR, ".msg.assistant")[-1].text)
    fold = browser.find_element(By.CSS_SELECTOR, "details.msg.tool")
    assert "write_file: done" in fold.text and fold.get_attribute("open") is None  # folded
    assert (work / "a.txt").read_text() == "hi"

    browser.get(f"{url}/")  # the session list searches what was said, as you type
    wait.until(lambda d: d.find_element(By.ID, "chat").get_attribute("data-ready") == "yes")
    browser.find_element(By.ID, "session-filter").send_keys("bold li")
    listed = browser.find_element(By.ID, "session-list")
    wait.until(lambda d: listed.get_attribute("data-query") == "bold li")
    marks = [m.text for m in listed.find_elements(By.TAG_NAME, "mark")]
    assert marks[:2] == ["bold", "list"]  # in the answer, the last word as a prefix
    assert "Hello there" in listed.text  # the session's title
    browser.find_element(By.ID, "session-filter").send_keys(" zebra")
    wait.until(lambda d: "No session says that." in listed.text)

    browser.get(f"{url}/jobs")
    browser.find_element(By.ID, "new-job").click()
    form = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "form.job-form"))[0]
    form.find_element(By.NAME, "name").send_keys("nightly")
    form.find_element(By.NAME, "prompt").send_keys("Report")
    form.find_element(By.NAME, "when").send_keys("0 3 * *")  # a field short
    form.find_element(By.ID, "save-job").click()
    error = wait.until(lambda d: d.find_elements(By.ID, "form-error"))[0]
    assert "cron" in error.text  # said on the form, what was typed kept
    browser.save_screenshot(str(folder / "job-form.png"))
    when = browser.find_element(By.NAME, "when")
    assert when.get_attribute("value") == "0 3 * *"
    when.send_keys(" *")
    browser.find_element(By.ID, "save-job").click()
    wait.until(lambda d: d.current_url == f"{url}/jobs/nightly")
    assert "cron 0 3 * * *" in browser.find_element(By.CSS_SELECTOR, "dl.facts").text
    assert user("jobs", "run", "nightly").code == 0  # the terminal sees the page's job
    browser.get(f"{url}/inbox")
    item = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".item.unread"))[0]
    assert "Nightly report: all good." in item.text
    browser.save_screenshot(str(folder / "inbox.png"))
    run_link = item.find_element(By.PARTIAL_LINK_TEXT, "run ").get_attribute("href")
    item.find_element(By.XPATH, ".//button[text()='Mark read']").click()  # a form post
    wait.until(lambda d: "Nothing unread." in d.find_element(By.TAG_NAME, "main").text)
    browser.get(run_link)
    wait.until(lambda d: d.find_elements(By.ID, "answer"))
    assert "Nightly report" in browser.find_element(By.ID, "answer").text
    assert browser.find_element(By.ID, "status").text == "ok"
    browser.save_screenshot(str(folder / "run.png"))
    browser.get(f"{url}/jobs")
    assert "nightly" in browser.find_element(By.CSS_SELECTOR, "table.jobs").text
    heartbeat = browser.find_element(By.ID, "heartbeat").text
    assert "every 30 min in 08:00-22:00" in heartbeat and "empty: no beat asks" in heartbeat
    browser.save_screenshot(str(folder / "jobs.png"))
    browser.get(f"{url}/tools")
    row = browser.find_element(By.ID, "tool-files-write_file")
    assert row.find_element(By.CSS_SELECTOR, ".policy").text == "ask"
    row.find_element(By.XPATH, ".//button[text()='allow']").click()  # a form post
    wait.until(
        lambda d: d.find_element(By.CSS_SELECTOR, "#tool-files-write_file .policy").text == "allow"
    )
    assert json.loads((config / "mcp.json").read_text())["approvals"] == {
        "files:write_file": "allow"
    }
    audit = browser.find_element(By.CSS_SELECTOR, "table.audit").text
    assert "files:write_file" in audit and "allowed" in audit
    browser.save_screenshot(str(folder / "tools.png"))
    browser.get(f"{url}/doctor")
    wait.until(lambda d: d.find_element(By.ID, "findings").get_attribute("data-done") == "yes")
    ollama = browser.find_element(By.CSS_SELECTOR, '.finding[data-check="ollama"]')
    assert "ok" in ollama.get_attribute("class").split() and "answers" in ollama.text
    daemon = browser.find_element(By.CSS_SELECTOR, '.finding[data-check="daemon"]').text
    assert "runs (pid " in daemon  # the daemon looked at itself
    unchecked = browser.find_element(By.CSS_SELECTOR, '.finding[data-check="tool check"]')
    assert "warn" in unchecked.get_attribute("class") and "rung doctor --model" in unchecked.text
    browser.save_screenshot(str(folder / "doctor.png"))
    browser.set_window_size(390, 844)  # a phone
    browser.get(f"{url}/")
    wait.until(lambda d: d.find_element(By.ID, "chat").get_attribute("data-ready") == "yes")
    browser.save_screenshot(str(folder / "chat-phone.png"))
    model = browser.find_element(By.ID, "model")
    model.clear()
    model.send_keys("nosuch:1b")
    browser.find_element(By.CSS_SELECTOR, "#model-form button").click()
    error = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".msg.error"))[0]
    assert "nosuch:1b" in error.text  # said on the page, the chat goes on with its model
    assert "qwen3:4b" in browser.find_element(By.ID, "chat-status").text

    browser.get(page["login"])  # the old link
    assert browser.find_element(By.ID, "refused").is_displayed()
    browser.delete_all_cookies()
    browser.get(f"{url}/jobs")
    wait.until(lambda d: d.current_url == f"{url}/login")
    assert "rung web" in browser.find_element(By.TAG_NAME, "main").text
    ollama_server.assert_complete()


def test_jobs_are_added_and_edited_with_the_checks_of_the_terminal(
    page: dict[str, str], paths: Paths
) -> None:
    from rung.agent.daemon.ledger import Ledger

    url = page["url"]
    own = {"Origin": url}
    with httpx.Client(base_url=url, headers=own) as browser:
        browser.get(page["login"])
        assert 'action="/new-job"' in browser.get("/new-job").text
        fields = {"name": "poll", "prompt": "Check", "when_kind": "every", "when": "2x"}
        bad = browser.post("/new-job", data={**fields, "tools": "fetch"})
        assert bad.status_code == 400 and "2x" in bad.text and 'value="fetch"' in bad.text
        fields["when"] = "2h"
        assert "SERVER:TOOL" in browser.post("/new-job", data={**fields, "tools": "fetch"}).text
        taken = browser.post("/new-job", data={**fields, "name": "heartbeat"})
        assert taken.status_code == 400 and "Rung&#39;s own runs" in taken.text
        added = browser.post("/new-job", data={**fields, "tools": "fetch:*", "notify": "desktop"})
        assert added.status_code == 303 and added.headers["location"] == "/jobs/poll"
        form = browser.get("/jobs/poll/edit").text
        assert 'value="2h"' in form and 'value="fetch:*"' in form
        assert 'value="desktop" checked' in form
        same = {**fields, "tools": "fetch:*", "notify": "desktop", "missed": "once"}
        unchanged = browser.post("/jobs/poll/edit", data={**same, "grace": "1h"})
        assert unchanged.status_code == 400 and "nothing to change" in unchanged.text
        edited = browser.post("/jobs/poll/edit", data={**same, "missed": "skip", "tools": ""})
        assert edited.status_code == 303
        foreign = browser.post("/jobs/poll/edit", data=same, headers={"Origin": "http://x.test"})
        assert foreign.status_code == 403
    with Ledger(paths.jobs_db) as ledger:
        job = ledger.get("poll")
    assert (job.missed, job.tools, job.notify) == ("skip", (), ("desktop",))
    assert job.schedule.spec == "2h"


def test_memory_in_a_real_browser(
    processes: Processes,
    paths: Paths,
    user: Rung,
    browser: Any,
    isolated_home: Path,
    tmp_path: Path,
) -> None:
    """Add a folder (with its progress), search it and see why a hit ranked, remember a
    fact and forget it, and edit the profile, on the daemon's memory."""
    from selenium.webdriver.common.by import By

    notes = isolated_home / "notes"
    notes.mkdir()
    (notes / "garden.md").write_text("# Garden\n\nThe tomatoes grow along the south fence.\n")
    (notes / "car.md").write_text("# Car\n\nThe car goes to the garage in March.\n")
    start_daemon(processes, paths, user.env, warm=True)
    page = DaemonClient(paths).web()
    wait = waiting(browser, 60)  # the daemon loads its embedding model at first use
    browser.get(page["login"])
    browser.get(f"{page['url']}/memory")

    browser.find_element(By.ID, "folder").send_keys(str(notes))
    browser.find_element(By.CSS_SELECTOR, "#add-folder button").click()
    wait.until(lambda d: d.find_element(By.ID, "add-status").text == "Added 2 of 2 files.")

    browser.find_element(By.ID, "query").send_keys("where do the tomatoes grow")
    browser.find_element(By.CSS_SELECTOR, "#search button").click()
    hit = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#hits .hit"))[0]
    assert "south fence" in hit.text and "score" in hit.text and "garden.md" in hit.text

    browser.find_element(By.ID, "fact-text").send_keys("I drink green tea")
    browser.find_element(By.CSS_SELECTOR, "#remember button").click()
    fact = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#facts .fact"))[0]
    assert "I drink green tea" in fact.text
    browser.save_screenshot(str(shots(tmp_path) / "memory.png"))
    fact.find_element(By.XPATH, ".//button[text()='Forget']").click()
    wait.until(lambda d: "No facts yet." in d.find_element(By.ID, "facts").text)

    profile = browser.find_element(By.ID, "profile")
    profile.clear()
    profile.send_keys("Name: Ada")
    browser.find_element(By.XPATH, "//button[text()='Save profile']").click()
    wait.until(lambda d: d.find_elements(By.ID, "saved"))
    assert paths.profile_file.read_text() == "Name: Ada"
