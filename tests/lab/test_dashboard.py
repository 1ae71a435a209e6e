"""The dashboard in a real browser (Debian's headless Chromium through chromedriver) against the lab:
topology, lights, releases, logs and their filter, escaping of remote text, and the lights moving
while a deploy started from the CLI swaps the hosts. Saves docs/img/dashboard.png."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from opsctl.observe.topology import dom_id
from tests.lab.helpers import HELLO, ROOT, HelloImages, get, hosts, http_ports, opsctl, reset_fleet

pytestmark = pytest.mark.lab

ENV = {"HELLO_SECRET_KEY": f"s3cret-{uuid.uuid4().hex}"}
SCREENSHOT = ROOT / "docs" / "img" / "dashboard.png"


@pytest.fixture(scope="module")
def deployed(images: HelloImages) -> None:
    reset_fleet()
    opsctl("deploy", "v1", "-e", "lab", env=ENV, check=True)


@pytest.fixture()
def dashboard(deployed: None) -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsctl", "dashboard", "-e", "lab", "--interval", "1"],
        cwd=HELLO, env={**os.environ, **ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.poll() is not None else url
    try:
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "Traceback" not in err


def light(driver: Any, key: str) -> str | None:
    return driver.execute_script(  # type: ignore[no-any-return]
        "const e = document.getElementById(arguments[0]); return e && e.getAttribute('data-light');", dom_id(key))


def wait(what: str, check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_only_the_token_opens_the_page(dashboard: str) -> None:
    base = dashboard.rsplit("/", 2)[0]
    assert get(dashboard)[0] == 200
    assert get(base + "/wrong-token/")[0] == 404
    assert get(base + "/")[0] == 404
    request = urllib.request.Request(dashboard + "state", headers={"Host": "evil.example:80"})
    try:
        urllib.request.urlopen(request, timeout=5)
        raise AssertionError("a foreign Host header was served")
    except urllib.error.HTTPError as exc:
        assert exc.code == 403


def test_dashboard_shows_topology_lights_releases_and_logs(dashboard: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    lab = sorted(hosts())
    tag = uuid.uuid4().hex[:8]
    get(f"http://127.0.0.1:{http_ports()[lab[0]]}/mark-{tag}-<b>bold</b>")
    browser.get(dashboard)
    wait("all green", lambda: browser.find_element(By.ID, "summary").get_attribute("data-light") == "healthy")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOT))
    summary = browser.find_element(By.ID, "summary").text
    assert "● healthy" in summary and "6/6 web healthy, 3/3 worker running" in summary
    for host in lab:
        assert light(browser, f"cluster_host:{host}") == "healthy"
        assert light(browser, f"svc@{host}:web") == "healthy"
        assert light(browser, f"svc@{host}:worker") == "running"
        assert light(browser, f"proxy@{host}") == "running"  # the proxy has no health check of its own
    clocks = sorted(str(light(browser, f"svc@{h}:clock")) for h in lab)
    assert clocks == ["running", "stopped", "stopped"]
    badges = browser.find_elements(By.CSS_SELECTOR, "#topology g[data-light] text.badge")
    assert {b.text for b in badges} >= {"●", "○"}  # a symbol on every element, not only a colour

    rows = browser.find_elements(By.CSS_SELECTOR, "#hosts tbody tr")
    assert len(rows) >= 13  # 6 web, 3 worker, 1 clock, 3 proxies
    assert any(r.text.startswith("● healthy") for r in rows)
    releases = browser.find_elements(By.CSS_SELECTOR, "#releases tbody tr")
    assert releases and "deploy v1" in releases[0].text and "succeeded" in releases[0].text

    line = f"mark-{tag}-<b>bold</b>"
    wait("the marked log line", lambda: line in browser.find_element(By.ID, "logs").text)
    assert browser.find_elements(By.CSS_SELECTOR, "#logs b") == []  # remote text stays text
    browser.find_element(By.ID, "filter").send_keys(f"mark-{tag}")
    shown = browser.find_elements(By.CSS_SELECTOR, "#logs .line")
    assert len(shown) == 1 and line in shown[0].text and shown[0].text.startswith(f"{lab[0]}/hello")
    browser.find_element(By.ID, "filter").clear()
    browser.find_element(By.ID, "filter").send_keys("zz-no-such-line")
    assert browser.find_elements(By.CSS_SELECTOR, "#logs .line") == []
    browser.find_element(By.ID, "filter").clear()
    browser.execute_script("document.getElementById('filter').dispatchEvent(new Event('input'))")
    browser.save_screenshot(str(SCREENSHOT))  # again, now with the logs filled in
    assert SCREENSHOT.stat().st_size > 20_000


def test_lights_change_while_a_deploy_swaps_the_hosts(dashboard: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    lab = sorted(hosts())
    browser.get(dashboard)
    wait("all green", lambda: browser.find_element(By.ID, "summary").get_attribute("data-light") == "healthy")
    deploy = subprocess.Popen([sys.executable, "-m", "opsctl", "deploy", "v2", "-e", "lab"], cwd=HELLO,
                              env={**os.environ, **ENV}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen: dict[str, set[str]] = {h: set() for h in lab}
    banners: set[str] = set()
    while deploy.poll() is None:
        for host in lab:
            seen[host].add(str(light(browser, f"cluster_host:{host}")))
        banner = browser.find_element(By.ID, "deploy")
        if banner.is_displayed():
            banners.add(banner.text)
        time.sleep(0.2)
    assert deploy.returncode == 0, deploy.stdout.read() if deploy.stdout else ""
    # Every host went through "starting" (swapping) while the deploy ran, one at a time (batch 1).
    assert all("starting" in lights for lights in seen.values()), seen
    assert any("rollout of release" in b and "(v2)" in b for b in banners), banners
    wait("v2 everywhere", lambda: "v2 everywhere" in browser.find_element(By.ID, "summary").text)
    for host in lab:
        wait(f"{host} green", lambda host=host: light(browser, f"cluster_host:{host}") == "healthy")
    top = browser.find_elements(By.CSS_SELECTOR, "#releases tbody tr")[0].text
    assert "deploy v2" in top
