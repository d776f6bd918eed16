"""End to end in a real browser: Debian's Chromium, headless, driven through chromedriver,
against `clusterkg serve` started by the test. Screenshots go to test-artifacts/e2e/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).parents[1] / "test-artifacts" / "e2e"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.fail("Debian's chromium and chromium-driver are required: bash scripts/system-packages.sh")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,1000",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def shot(driver, name: str) -> None:
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def test_a_researcher_walks_through_the_service(browser, live_server: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 20)
    errors: list[str] = []

    # 1. the home page, with the headline question ready
    browser.get(live_server + "/")
    assert "Cluster-manager surveys as a knowledge graph" in browser.find_element(By.TAG_NAME, "h1").text
    shot(browser, "01-home")

    # 2. run the headline question as it stands (supply-chain transparency and funding)
    browser.find_element(By.CSS_SELECTOR, "#share-form button[type=submit]").click()
    wait.until(ec.presence_of_element_located((By.ID, "answer")))
    names = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "a.cluster-link")]
    assert names == ["BioRegio STERN", "MedSilesia"]
    shot(browser, "02-headline-answer")

    # 3. follow a result to its cluster page
    browser.find_element(By.LINK_TEXT, "MedSilesia").click()
    wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "MedSilesia"))
    assert "Supply Chain Transparency" in browser.page_source
    shot(browser, "03-cluster-page")

    # 4. the matrix, then click through to an option's page
    browser.get(live_server + "/matrix")
    cells = browser.find_elements(By.CSS_SELECTOR, "#matrix td.heat-2, #matrix td.heat-1")
    assert len(cells) >= 14
    shot(browser, "04-matrix")
    browser.find_element(By.PARTIAL_LINK_TEXT, "Analysing supply chains").click()
    wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Analysing supply chains"))

    # 5. a figure, drawn as SVG from the graph
    browser.get(live_server + "/figures/2")
    bars = browser.find_elements(By.CSS_SELECTOR, "svg.chart rect.bar-clusters")
    assert len(bars) == 5 and float(bars[0].get_attribute("width")) > 0
    shot(browser, "05-figure-2")

    # 6. the SPARQL editor: load an example, run it, see the rows
    browser.get(live_server + "/sparql")
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".CodeMirror")))
    example = browser.find_element(By.ID, "example")
    from selenium.webdriver.support.ui import Select

    Select(example).select_by_value("option-counts")
    browser.find_element(By.ID, "run").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#sparql-results tbody tr")) >= 5)
    first = browser.find_element(By.CSS_SELECTOR, "#sparql-results tbody tr td:nth-child(2)").text
    assert first == "Analysing strategic levers in value chains"
    assert "row(s)" in browser.find_element(By.ID, "status").text
    shot(browser, "06-sparql-editor")

    # nothing on the way broke the Content Security Policy or threw
    for entry in browser.get_log("browser"):
        if entry.get("level") == "SEVERE":
            errors.append(entry.get("message", ""))
    assert not errors, errors
