#!/usr/bin/env python3
"""Loads Coroner's report.html pages in headless Chromium (Debian's chromium + chromium-driver, driven by
selenium) and fails on any sign that evidence ran as code: a changed title, a console message or dialog from a
payload, a Content-Security-Policy violation (listened for with an init script the page's CSP cannot block, and
read from the browser's console log). It also drives the page's own filter script with payloads typed in, so
the script's code paths that build rows from evidence run.

Usage: hostile_browser.py CASES.json   (written by report/tests/hostile_browser.rs)
CASES.json: {"pages": [{"path": "/abs/report.html", "title": "expected title",
                        "find": ["visible text that must match at least one event", ...]}],
             "typed": ["text typed into the filters", ...]}
Prints one JSON object; exit 0 clean, 1 a violation, 2 it could not run.
"""

import json
import shutil
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

# Runs before the page's own code, in every document, outside the page's CSP (CDP init scripts are exempt).
INIT = r"""
window.__hostile = {violations: [], dialogs: [], logs: [], titles: []};
document.addEventListener('securitypolicyviolation', function (e) {
  window.__hostile.violations.push({directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample, line: e.lineNumber});
});
['alert', 'confirm', 'prompt', 'print'].forEach(function (n) {
  window[n] = function () { window.__hostile.dialogs.push(n + ': ' + Array.prototype.join.call(arguments, ' ')); };
});
['log', 'info', 'warn', 'error', 'debug'].forEach(function (n) {
  var orig = console[n];
  console[n] = function () { window.__hostile.logs.push(n + ': ' + Array.prototype.join.call(arguments, ' ')); return orig.apply(console, arguments); };
});
new MutationObserver(function () {
  var t = window.__hostile.titles, now = document.title;
  if (now !== '' && t[t.length - 1] !== now) { t.push(now); }
})
  .observe(document, {subtree: true, childList: true, characterData: true});
"""

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions"]

# Sets a filter input as a user typing would (value, then an input event), then waits out its 200 ms debounce.
TYPE = r"""
var el = document.getElementById(arguments[0]);
el.value = arguments[1];
el.dispatchEvent(new Event('input'));
"""


def main():
    cases = json.load(open(sys.argv[1], encoding="utf-8"))
    profile = tempfile.mkdtemp(prefix="coroner-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for f in FLAGS:
        opts.add_argument(f)
    opts.add_argument("--user-data-dir=" + profile)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    out = {"pages": [], "violations": []}
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": INIT})
        for page in cases["pages"]:
            bad = []
            driver.get("file://" + page["path"])
            time.sleep(0.5)
            # The page's script ran: it shows the filter view and hides the static table.
            shown = driver.execute_script("return !document.getElementById('js-view').hidden && document.getElementById('static-view').hidden")
            if not shown:
                bad.append("the page's own script did not run (filter view hidden)")
            found = {}
            for text in cases["typed"]:
                driver.execute_script(TYPE, "f-text", text)
                time.sleep(0.25)
            for text in page["find"]:
                # The text box applies after a 200 ms debounce; a change event on the notable box applies the
                # same filter at once, so the count read next is this text's.
                driver.execute_script("document.getElementById('f-text').value = arguments[0];"
                                      "document.getElementById('f-notable').dispatchEvent(new Event('change'));", text)
                found[text] = driver.execute_script("return document.getElementById('js-rows').children.length")
            for text in cases["typed"][:8]:
                driver.execute_script(TYPE, "f-user", text)
                time.sleep(0.25)
                driver.execute_script(TYPE, "f-pid", text)
                time.sleep(0.25)
            driver.execute_script("document.getElementById('f-clear').click();"
                                  "var b = document.querySelector('#hist g.bar'); if (b) { b.dispatchEvent(new MouseEvent('click')); }"
                                  "document.getElementById('p-next').click();")
            time.sleep(0.3)
            state = driver.execute_script("return window.__hostile")
            title = driver.title
            if title != page["title"]:
                bad.append("title changed: %r" % title)
            if any(t != page["title"] for t in state["titles"]):
                bad.append("title changed while loaded: %r" % state["titles"])
            bad += ["CSP violation: %r" % v for v in state["violations"]]
            bad += ["dialog: %r" % d for d in state["dialogs"]]
            bad += ["console: %r" % m for m in state["logs"]]
            for entry in driver.get_log("browser"):
                msg = entry.get("message", "")
                if entry.get("level") in ("SEVERE", "WARNING") or "Content Security Policy" in msg or "PWNED" in msg:
                    bad.append("browser log: %s %s" % (entry.get("level"), msg))
            unmatched = [t for t, n in found.items() if n < 1]
            if unmatched:
                bad.append("filter found no event for %r" % unmatched)
            out["pages"].append({"path": page["path"], "title": title, "typed": len(cases["typed"]), "found": len(found)})
            out["violations"] += ["%s: %s" % (page["path"], b) for b in bad]
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    print(json.dumps(out, indent=1))
    return 1 if out["violations"] else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # a browser that cannot start is not a pass
        print(json.dumps({"error": repr(e)}))
        sys.exit(2)
