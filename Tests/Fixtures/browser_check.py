#!/usr/bin/env python3
"""Loads flow's pages in headless Chromium (Debian's chromium and chromium-driver, through Selenium) for the tests.

Usage: browser_check.py BASE_URL SHOTS_DIR CHECK...
Each CHECK is PATH:NAME[:WAIT_JS]: load BASE_URL+PATH, wait (up to 20 s) until the JavaScript expression WAIT_JS
is true when given, save SHOTS_DIR/NAME.png, and report the DOM facts the tests assert on. Prints one JSON
object: {NAME: {"title", "badges", "nodes", "node_status", "rows", "logs", "text_length", "console_errors"}}.
"""
import json
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

base, shots, checks = sys.argv[1], sys.argv[2], sys.argv[3:]
options = Options()
for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1366,900",
                 "--hide-scrollbars"]:
    options.add_argument(argument)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
facts = {}
try:
    for check in checks:
        path, name, *wait = check.split(":", 2)
        driver.get(base + path)
        if wait:
            deadline = time.time() + 20
            while time.time() < deadline and not driver.execute_script("return !!(" + wait[0] + ")"):
                time.sleep(0.1)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1366, min(max(height, 600), 4000))
        driver.save_screenshot(f"{shots}/{name}.png")
        facts[name] = driver.execute_script("""
            return {
              title: document.title,
              badges: Array.from(document.querySelectorAll('.badge')).map(b => b.textContent),
              nodes: document.querySelectorAll('#graph g.node').length,
              node_status: Object.fromEntries(Array.from(document.querySelectorAll('#graph g.node')).map(n => [n.dataset.task, n.dataset.status])),
              rows: document.querySelectorAll('tbody tr').length,
              logs: Array.from(document.querySelectorAll('pre.log')).map(p => p.textContent),
              live: document.body.dataset.live || '',
              text_length: document.body.innerText.length,
              bars: document.querySelectorAll('svg.bars rect').length,
              closes: document.querySelectorAll('svg.closes polyline').length
            };""")
        facts[name]["console_errors"] = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
finally:
    driver.quit()
print(json.dumps(facts))
