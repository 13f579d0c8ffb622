"""``ruralabm viz``: the twin-world model behind the app, its controls, and the app itself in a real
browser (headless Chromium driven by selenium through Debian's chromedriver).

The browser test starts ``ruralabm viz`` on a free port, plays three years, checks that the year
label advances and the charts are redrawn, that the page loaded nothing from outside this machine
(solara's assets come from the solara-assets package), and takes a screenshot (with
RURALABM_UPDATE_SCREENSHOT=1 it replaces the one the README shows, docs/figures/viz.png). It is skipped on a machine without Chromium or the viz extra, except in CI
(``CI`` set), where .ci/run installs them and a skip would hide a broken install.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from ruralabm.commands import viz as viz_command
from ruralabm.model.params import ParameterError, parameter_spec
from ruralabm.viz import (HOUSEHOLDS_RANGE, SEEDS, SLIDERS, TwinWorlds, model_params, scenario_names,
                          start_values)
import ruralabm.viz as viz

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "docs" / "figures" / "viz.png"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def test_cli_mirrors_agree_with_the_app():
    assert viz_command.DEFAULT_SCENARIO == viz.DEFAULT_SCENARIO
    assert viz_command.DEFAULT_HOUSEHOLDS == viz.DEFAULT_HOUSEHOLDS
    assert viz_command.HOUSEHOLDS_RANGE == HOUSEHOLDS_RANGE and viz_command.SEEDS == SEEDS


def test_sliders_take_labels_and_ranges_from_the_parameter_metadata():
    params = model_params()
    assert params["scenario"]["values"] == scenario_names() and "baseline" in params["scenario"]["values"]
    for s in SLIDERS:
        spec = parameter_spec(s.name)
        control = params[s.name]
        assert control["label"] == s.name.split(".")[1].replace("_", " ")
        assert spec["low"] <= control["min"] < control["max"] <= spec["high"]
        assert control["min"] <= control["value"] <= control["max"]
        assert control["type"] == ("SliderInt" if spec["type"] == "int" else "SliderFloat")
    # Mesa's ModelCreator passes every control as a keyword argument: TwinWorlds must accept them all
    # (the check SolaraViz itself runs).
    from mesa.visualization.solara_viz import _check_model_params
    _check_model_params(TwinWorlds.__init__, params)


def test_twin_shares_the_world_until_the_policy_starts_then_differs():
    m = TwinWorlds(households=600, seed=3)
    start = m.params.calendar.policy_start_year
    for _ in range(start - m.calendar_years[0] + 2):
        m.step()
    policy, twin = m.frame("policy"), m.frame("twin")
    assert list(policy["year"]) == m.calendar_years[: len(policy)] and m.year == policy["year"].iloc[-1]
    before = policy["year"] < start
    cols = ["poor_1_9", "poor_national", "poor_3_1", "human_capital", "financial_capital", "learning"]
    # common random numbers: the same households, prices and disasters until the policy starts
    np.testing.assert_allclose(policy.loc[before, cols], twin.loc[before, cols])
    assert (twin["participation"] == 0).all()
    after = policy[~before]
    assert (after["participation"] > 0.1).all()
    assert np.allclose(after["participation"], after["cooperative"] + after["enterprise"])
    assert not np.allclose(policy.loc[~before, "learning"], twin.loc[~before, "learning"])
    assert twin_off_has_no_twin()


def twin_off_has_no_twin() -> bool:
    m = TwinWorlds(households=600, twin=False)
    m.step()
    return m.twin is None and m.frame("twin").empty and len(m.frame("policy")) == 1


def test_moved_sliders_override_the_scenario_and_unmoved_ones_keep_it():
    starts = start_values()
    m = TwinWorlds(scenario="frequent_disasters", households=600, **starts)  # sliders where they started
    assert m.settings["shocks.disaster_probability"] == (0.25, "per village-year", "scenario frequent_disasters")
    m = TwinWorlds(scenario="frequent_disasters", households=600,
                   **{**starts, "shocks.disaster_probability": 0.05, "enterprise.per_county": 2})
    assert m.settings["shocks.disaster_probability"][::2] == (0.05, "slider")
    assert m.params.enterprise.per_county == 2 and m.twin.params.enterprise.per_county == 2
    assert m.twin.params.policy.cooperatives is False and m.twin.params.policy.enterprises is False
    with pytest.raises(ParameterError, match="unknown control"):
        TwinWorlds(**{"shocks.nonsense": 1})
    with pytest.raises(ParameterError, match="disaster_probability"):
        TwinWorlds(households=600, **{"shocks.disaster_probability": 2.0})


def test_the_run_stops_at_the_last_calendar_year():
    m = TwinWorlds(households=500, twin=False, **{"calendar.policy_start_year": 2013})
    while m.running:
        m.step()
    assert m.steps == len(m.calendar_years) and m.year == m.calendar_years[-1]
    m.step()  # Mesa's controller never does this, but a script might
    assert m.steps == len(m.calendar_years) and len(m.frame()) == len(m.calendar_years)


def test_village_view_shows_every_household_of_the_county():
    m = TwinWorlds(households=1000, seed=1)
    for _ in range(5):
        m.step()
    view = m.village_view(2)
    w = m.policy.world
    assert len(view["villages"]) == m.params.population.villages_per_county
    assert sum(len(v["households_poor"]) for v in view["villages"]) == int((w.households.county_id == 2).sum())
    assert view["simulated"] and view["cooperative_villages"]  # mixed policy, 2016: cooperatives operate
    assert all(0 <= v["poverty"] <= 1 and 0 <= v["participation"] <= 1 for v in view["villages"])
    twin = m.village_view(2, "twin")
    assert all(not v["households_org"].any() for v in twin["villages"])
    with pytest.raises(ParameterError, match="county = 99"):
        m.village_view(99)


@pytest.mark.parametrize("argv, message", [
    (["viz", "--scenario", "nope"], "--scenario = 'nope' is not allowed: choose a shipped scenario"),
    (["viz", "--households", "100000"], "--households = 100000 is not allowed"),
    (["viz", "--seed", "500"], "--seed = 500 is not allowed"),
    (["viz", "--port", "70000"], "--port = 70000 is not allowed"),
])
def test_bad_input_is_one_line_exit_2(argv, message):
    res = subprocess.run([sys.executable, "-m", "ruralabm", *argv], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and message in res.stderr, res.stderr


def test_a_port_in_use_is_refused_in_one_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        res = subprocess.run([sys.executable, "-m", "ruralabm", "viz", "--port", str(port)], capture_output=True,
                             text=True, timeout=60)
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert f"--port {port} on --host 127.0.0.1 cannot be used" in res.stderr


# ---------------------------------------------------------------------------------------------
# In the browser


def _browser_or_skip():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium")
    missing += viz_command.missing_viz_modules()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must install the browser test's needs (.ci/run); missing: {', '.join(missing)}")
        pytest.skip(f"needs {', '.join(missing)} (apt-get install chromium chromium-driver; pip install -e '.[test]')")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    _browser_or_skip()
    port = _free_port()
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "ruralabm", "viz", "--port", str(port)], stdout=log,
                            stderr=subprocess.STDOUT, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"ruralabm viz did not start: {(tmp_path / 'server.log').read_text()[-2000:]}")
            time.sleep(0.3)
        yield url, port, tmp_path / "server.log"
        proc.send_signal(signal.SIGINT)  # Ctrl-C stops the server: exit 0 and a note, no traceback
        assert proc.wait(timeout=30) == 0
        text = (tmp_path / "server.log").read_text()
        assert "ruralabm viz: server stopped" in text and "Traceback" not in text, text[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="ruralabm-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--window-size=1500,1700", "--hide-scrollbars"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


_DIAGNOSE: list = []  # (driver, server log) of the running test, for failure messages


def _wait(what, condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    detail = ""
    if _DIAGNOSE:
        driver, log = _DIAGNOSE[-1]
        console = [e["message"][:300] for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
        body = driver.execute_script("return document.body ? document.body.innerText.slice(0, 500) : ''")
        detail = (f"\npage text: {body!r}\nbrowser console: {console[-8:]}\n"
                  f"server log: {log.read_text()[-3000:]}")
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}{detail}")


# The page re-renders while the model plays: read it with one script call each time (atomic), not
# through element handles that go stale between finding and reading.
def _year_label(driver) -> str:
    return driver.execute_script("const e = document.querySelector('.ruralabm-year'); "
                                 "return e ? e.textContent.trim() : '';")


def _charts(driver) -> list[str]:
    # solara shows a matplotlib PNG as an <img> whose blob: URL is new whenever the figure is redrawn
    return driver.execute_script("return Array.from(document.querySelectorAll('img')).map(i => i.src)"
                                 ".filter(s => s.startsWith('blob:') || s.startsWith('data:image/png'));")


def _click(driver, text: str) -> None:
    clicked = driver.execute_script(
        "const b = Array.from(document.querySelectorAll('button')).find(b => b.textContent.includes(arguments[0]) "
        "&& !b.disabled); if (b) { b.click(); return true; } return false;", text)
    assert clicked, f"no enabled button {text!r} on the page"


def test_the_app_plays_three_years_in_a_browser(server, browser):
    url, port, server_log = server
    _DIAGNOSE.append((browser, server_log))
    browser.get(url)
    try:
        _wait("the year label", lambda: _year_label(browser).startswith("Start of 2012"), timeout=40)
    except pytest.fail.Exception:
        # On a loaded machine the first page of a fresh server has once in a while not connected
        # its widgets in time; a person would reload. A second failure fails the test.
        browser.refresh()
        _wait("the year label after a reload", lambda: _year_label(browser).startswith("Start of 2012"))
    _wait("the five charts", lambda: len(_charts(browser)) >= 5)
    before = _charts(browser)

    started = time.monotonic()
    _click(browser, "▶")  # play
    _wait("three years played", lambda: _year_label(browser) in ("Year 2014", "Year 2015", "Year 2016"))
    _click(browser, "❚❚")  # pause
    at_pause = int(_year_label(browser).split()[-1])
    per_year = (time.monotonic() - started) / (at_pause - 2011)
    # Mesa's play loop (mesa/visualization/solara_viz.py, ModelController) sleeps play_interval
    # before each step, and its do_step steps once more when the pause lands during that sleep,
    # without forcing a redraw: the label may move on by one year, and late (it once held still
    # for 3 s first); one more if the label read at the click still lagged a year being drawn.
    # A model still playing moves on by about six years in the time it took to play six (measured
    # from the click, so it overstates a year's time; without the pause it moved on by three in
    # four such years). The server draws six figures a year, which takes a while on a busy machine.
    time.sleep(max(8.0, 6.0 * per_year))
    label = _year_label(browser)
    year = int(label.split()[-1])
    assert at_pause <= year <= at_pause + 2, f"the model kept running after pause: Year {at_pause} -> {label}"
    after = _wait("redrawn charts", lambda: (c := _charts(browser)) and len(c) >= 5 and c)
    changed = sum(a != b for a, b in zip(before, after))
    assert changed >= 5, f"only {changed} of {len(after)} charts were redrawn after three years"
    # the twin runs beside the policy world: its effect is shown for the year on the label (read
    # together, as a late redraw of the last step moves both)
    def effect_of_the_year_shown():
        shown = int(_year_label(browser).split()[-1])
        effect = browser.execute_script("return document.querySelector('.ruralabm-effect').textContent;")
        return at_pause <= shown <= at_pause + 2 and f"Effect of the policy in {shown}" in effect

    _wait("the effect of the year on the label", effect_of_the_year_shown, timeout=30)

    # Nothing was fetched from outside this machine, and every asset solara asked for was there.
    outside, missing = set(), []
    for entry in browser.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            u = msg["params"]["request"]["url"]
            if u.startswith("http") and not u.startswith(f"http://127.0.0.1:{port}/"):
                outside.add(u)
        elif msg["method"] == "Network.responseReceived":
            r = msg["params"]["response"]
            if r["url"].startswith("http") and r["status"] >= 400:
                missing.append(f"{r['status']} {r['url']}")
    assert not outside, f"the page fetched from outside this machine: {sorted(outside)[:5]}"
    assert not missing, f"assets not served: {missing[:5]}"
    assert "Traceback" not in server_log.read_text()

    # The README's screenshot is refreshed only on request (RURALABM_UPDATE_SCREENSHOT=1), so that
    # running the tests leaves the work tree clean; otherwise it goes to a temporary file.
    shot = SCREENSHOT if os.environ.get("RURALABM_UPDATE_SCREENSHOT") else Path(tempfile.mkdtemp()) / "viz.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
