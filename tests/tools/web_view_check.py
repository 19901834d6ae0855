#!/usr/bin/python3
"""Loads every page of the relay's web view in headless Chromium (Debian's
chromium + chromium-driver, driven by Selenium), follows the drill-down links
a user would click, checks the numbers shown against what the test passes in
(taken from the accounting log, the report store and the JSON API), and saves
a screenshot of each page.

usage: web_view_check.py BASE_URL TOKEN SCREENSHOT_DIR EXPECTED_JSON
Prints ok/not ok lines; exits 1 when a check failed."""
import json
import sys
import tempfile
import urllib.parse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

base, token, shots, expected_file = sys.argv[1:5]
expected = json.load(open(expected_file))
failures = 0


def check(name, ok, detail=""):
    global failures
    print(("ok - " if ok else "not ok - ") + name + ("" if ok else f" ({detail})"))
    if not ok:
        failures += 1


options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--window-size=1280,900", f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}"):
    options.add_argument(arg)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
# The bearer token on every request, as a reverse proxy in front of the relay would add it.
driver.execute_cdp_cmd("Network.enable", {})
driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": "Bearer " + token}})


def visit(path, shot):
    driver.get(base + path)
    driver.save_screenshot(f"{shots}/{shot}.png")
    return driver


def cell(row_key, column):
    rows = driver.find_elements(By.CSS_SELECTOR, f'tr[data-key="{row_key}"] td[data-col="{column}"]')
    return rows[0].text.strip() if rows else None


def number(row_key, column):
    text = cell(row_key, column)
    return int(text.split()[0]) if text else None


def no_foreign_loads(page):
    # Everything comes from the relay: no script, no stylesheet or image from elsewhere.
    html = driver.page_source
    foreign = [tag for tag in ("<script", "<link", "<img", "<iframe") if tag in html]
    urls = [u for u in ("http://", "https://") if u in html.replace("http://www.w3.org/2000/svg", "")]
    check(f"{page}: nothing loaded from elsewhere", not foreign and not urls, f"{foreign} {urls}")


try:
    # ---- overview
    visit("/", "overview")
    check("overview: the title", driver.title.startswith("overview"), driver.title)
    check("overview: queued messages = the API's", number("queued", "value") == expected["queued"],
          cell("queued", "value"))
    bars = driver.find_elements(By.CSS_SELECTOR, f'svg g.bar[data-day="{expected["today"]}"]')
    check("overview: the chart has today's bar", len(bars) == 1)
    if bars:
        check("overview: today's bar = the store's successful sessions",
              int(bars[0].get_attribute("data-successful")) == expected["sent_successful"],
              bars[0].get_attribute("data-successful"))
    no_foreign_loads("overview")

    # ---- queue, one destination, one message (by clicking)
    visit("/queue", "queue")
    stuck = expected["stuck_destination"]
    check("queue: the stuck destination holds 1 message", number(stuck, "messages") == 1, cell(stuck, "messages"))
    driver.find_element(By.CSS_SELECTOR, f'tr[data-key="{stuck}"] td[data-col="destination"] a').click()
    driver.save_screenshot(f"{shots}/queue-destination.png")
    check("destination queue: lists the deferred message",
          cell(expected["stuck_queue_id"], "queue id") == expected["stuck_queue_id"], driver.current_url)
    driver.find_element(By.CSS_SELECTOR, f'tr[data-key="{expected["stuck_queue_id"]}"] a').click()
    driver.save_screenshot(f"{shots}/message.png")
    check("message: dave@stuck.test is pending", cell("dave@stuck.test", "state") == "pending",
          cell("dave@stuck.test", "state"))
    check("message: attempts = the accounting log's deferrals",
          number("dave@stuck.test", "attempts") == expected["stuck_attempts"], cell("dave@stuck.test", "attempts"))
    check("message: the last response says why", bool(cell("dave@stuck.test", "last response")))
    visit("/queue/NOSUCHID", "message-missing")
    check("an unknown message: a page saying so", "not in the queue" in driver.title, driver.title)

    # ---- destinations: TLS posture
    visit("/destinations", "destinations")
    domain = expected["posture_domain"]
    check("destinations: remote.test's sessions = the posture API's",
          number(domain, "sessions") == expected["posture_sessions"], cell(domain, "sessions"))
    check("destinations: remote.test's sessions were opportunistic TLS (the smarthost's default)",
          number(domain, "opportunistic") == expected["posture_sessions"], cell(domain, "opportunistic"))
    check("destinations: stuck.test's sessions failed",
          (number("stuck.test", "failed") or 0) >= 1, cell("stuck.test", "failed"))
    no_foreign_loads("destinations")

    # ---- reports we send, and one of them
    visit("/reports", "reports")
    key = f'{expected["today"]}/127.0.1.2'
    check("reports: today's successful sessions = the store's", number(key, "successful") == expected["sent_successful"],
          cell(key, "successful"))
    check("reports: today's failed sessions = the store's", number(key, "failed") == expected["sent_failed"],
          cell(key, "failed"))
    driver.find_element(By.CSS_SELECTOR, f'tr[data-key="{key}"] td[data-col="policy domain"] a').click()
    driver.save_screenshot(f"{shots}/report.png")
    check("report: the policy's successful count = the store's", number("1", "successful") == expected["sent_successful"],
          cell("1", "successful"))
    check("report: the raw JSON is on the page",
          '"organization-name"' in driver.find_element(By.TAG_NAME, "pre").get_attribute("textContent"))

    # ---- reports we received, and the one report behind a row
    visit("/reports/received", "received")
    r = expected["received"]
    rkey = f'{r["day"]}/{r["organization"]}/{r["domain"]}'
    check("received: successful sessions = the report's", number(rkey, "successful") == r["successful"],
          cell(rkey, "successful"))
    check("received: failed sessions = the report's", number(rkey, "failed") == r["failed"], cell(rkey, "failed"))
    driver.find_element(By.CSS_SELECTOR, f'tr[data-key="{rkey}"] td[data-col="organization"] a').click()
    driver.save_screenshot(f"{shots}/received-report.png")
    check("received report: its id is shown", r["report_id"] in driver.page_source)
    details = driver.find_elements(By.CSS_SELECTOR, 'td[data-col="failed sessions"]')
    check("received report: every failure detail, with its count",
          sorted(int(d.text) for d in details) == sorted(r["failure_counts"]), [d.text for d in details])
    raw_link = driver.find_element(By.LINK_TEXT, "the report as received (JSON)").get_attribute("href")
    query = urllib.parse.parse_qs(urllib.parse.urlparse(raw_link).query)
    check("received report: links to the JSON as received", query.get("id") == [r["report_id"]], raw_link)

    # The one 404 asked for above is not an error of the pages.
    severe = [e for e in driver.get_log("browser")
              if e.get("level") == "SEVERE" and "/queue/NOSUCHID" not in e.get("message", "")]
    check("the browser logged no errors", not severe, severe[:3])
finally:
    driver.quit()
sys.exit(1 if failures else 0)
