"""Fixtures shared by the lab tests, each made once per session: the example app's images (see
HelloImages in tests/lab/helpers.py), the CI image, a headless browser."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.lab.helpers import FAIL_HEALTH, ROOT, HelloImages, remove_ingress, reset_fleet

if TYPE_CHECKING:
    from opsctl.lab.state import LabState


@pytest.fixture(scope="session")
def hello_images(lab: LabState) -> HelloImages:
    return HelloImages(lab)


@pytest.fixture(scope="module")
def images(hello_images: HelloImages) -> Iterator[HelloImages]:
    """v1, v2 and vbad of the example in the lab's registry for one module's tests; the module
    leaves the servers as the lab made them (other lab tests want their port 80 free)."""
    hello_images.need("v1", "v2")
    hello_images.need("vbad", build_args=FAIL_HEALTH)
    yield hello_images
    reset_fleet()
    remove_ingress()  # shared by apps, so reset_fleet leaves it; it holds the servers' port 80


CI_IMAGE = "opsctl-ci:test"


@pytest.fixture(scope="session")
def ci_image(lab: LabState) -> str:
    """The CI image (Dockerfile at the root) of this checkout, built once per session by
    tools/build-image.sh FROM the lab's base image: test_image.py runs it, test_watch_install.py
    pushes it to the lab's registry."""
    built = subprocess.run([str(ROOT / "tools" / "build-image.sh"), CI_IMAGE], cwd=ROOT, capture_output=True,
                           text=True, timeout=900, stdin=subprocess.DEVNULL, check=False)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return CI_IMAGE


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium (Debian's, through chromedriver) for the whole session: every test that
    uses it opens its page first."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver_bin = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_bin):
        pytest.fail("chromium and chromium-driver are not installed (tools/setup-machine.sh installs them)")
    profile = tempfile.mkdtemp(prefix="opsctl-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1500,1250",
                f"--user-data-dir={profile}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=driver_bin), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
