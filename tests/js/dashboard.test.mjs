// The /ui dashboard in a real browser (Debian's Chromium, headless, driven by puppeteer-core),
// against a running `cortex up` (started by tests/integration/dashboard_test.cpp):
//   CORTEX_UI_URL      the page, e.g. http://127.0.0.1:PORT/ui
//   CORTEX_ADMIN_KEY   the gateway's admin key (the page must ask for it)
//   CORTEX_CHROMIUM    the browser binary
//   CORTEX_SCREENSHOT  where to save a picture of the page once it shows the burst
//   CORTEX_BURST_ENGINE, CORTEX_PAUSED_ENGINE  the engine with the burst profile, one it stops
//   CORTEX_LANES        the lanes the page must list; CORTEX_SERVED_LANE one that served a request
//   CORTEX_JOB          an ingest job that has finished
import { test } from "node:test";
import assert from "node:assert/strict";
import puppeteer from "puppeteer-core";

const url = process.env.CORTEX_UI_URL;
const burstEngine = process.env.CORTEX_BURST_ENGINE;
const pausedEngine = process.env.CORTEX_PAUSED_ENGINE;
const lanes = process.env.CORTEX_LANES.split(",");
const servedLane = process.env.CORTEX_SERVED_LANE;
const job = process.env.CORTEX_JOB;

async function withPage(fn, viewport = { width: 1280, height: 900 }) {
  const browser = await puppeteer.launch({
    executablePath: process.env.CORTEX_CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const errors = [];
  try {
    const page = await browser.newPage();
    await page.setViewport(viewport);
    page.on("pageerror", (e) => errors.push(String(e)));
    // Chromium logs every refused fetch; the 401 before the key is given is the page's own flow.
    page.on("console", (m) => {
      if (m.type() === "error" && !/status of 401/.test(m.text())) errors.push(m.text());
    });
    await fn(page);
  } finally {
    await browser.close();
  }
  assert.deepEqual(errors, [], "the page threw or logged errors");
}

// The text of an engine's state cell, or "" while its row is not drawn.
const engineState = (page, name) =>
  page.evaluate((n) => {
    const tr = document.querySelector(`#engines tr[data-engine="${n}"]`);
    return tr ? tr.children[1].textContent : "";
  }, name);

// The key form, then the live page.
async function logIn(page) {
  await page.goto(url);
  await page.waitForSelector("#keyform", { visible: true, timeout: 15000 });
  assert.match(await page.$eval("#conn", (e) => e.textContent), /admin key/);
  await page.type("#keyinput", process.env.CORTEX_ADMIN_KEY);
  await page.click("#key button");
  await page.waitForFunction(
    (n) => document.querySelector(`#engines tr[data-engine="${n}"] td:nth-child(2)`)?.textContent === "ready",
    { timeout: 30000 }, burstEngine);
  assert.equal(await page.$eval("#conn", (e) => e.textContent), "live");
}

test("asks for the admin key, then shows engines, lanes, jobs and memory live; the burst button moves memory", async () => {
  await withPage(async (page) => {
    await logIn(page);
    assert.equal(await engineState(page, pausedEngine), "ready");
    const drawn = await page.$$eval("#lanes tbody tr", (rows) => rows.map((r) => r.dataset.lane));
    assert.deepEqual(drawn, lanes);
    // The served lane counts its request and its time to first token.
    const served = await page.$eval(`#lanes tr[data-lane="${servedLane}"]`,
                                    (r) => [...r.children].map((c) => c.textContent));
    assert.ok(Number(served[5]) >= 1, `requests on ${servedLane}: ${served}`);
    assert.match(served[7], /^\d+ ms$/, `TTFT on ${servedLane}: ${served}`);
    // The finished ingest job.
    await page.waitForSelector(`#jobs tr[data-job="${job}"]`, { timeout: 10000 });
    assert.match(await page.$eval(`#jobs tr[data-job="${job}"]`, (r) => r.textContent), /completed|failed/);
    // Memory as the plan draws it: reserves, then each running engine split into its parts.
    const segments = await page.$$eval("#poolbar > div", (ds) => ds.map((d) => d.dataset.engine || d.dataset.part));
    assert.ok(segments.includes("reserves") && segments.includes(burstEngine) && segments.includes(pausedEngine),
              `pool segments: ${segments}`);
    assert.equal(await page.$$eval(`#poolbar div[data-engine="${burstEngine}"] > span`, (s) => s.length), 4);
    assert.match(await page.$eval("#legend", (e) => e.textContent), /weights.*KV cache.*free .* pool/);
    assert.ok(await page.$(`#engines tr[data-engine="${burstEngine}"] .mini i`), "no actual-use mark");
    // A click on an engine shows its log.
    await page.click(`#engines tr[data-engine="${burstEngine}"] td:first-child`);
    await page.waitForFunction(() => document.getElementById("logtext").textContent.length > 0, { timeout: 10000 });

    // The burst button: the paused engine leaves the pool, the burst engine grows in it.
    const before = await page.$eval(`#poolbar div[data-engine="${burstEngine}"]`, (d) => parseFloat(d.style.width));
    await page.click("#burstbtn");
    await page.waitForFunction(
      (e) => document.getElementById("burst").textContent.startsWith("on for " + e) &&
             !document.getElementById("burst").textContent.includes("moving memory"),
      { timeout: 90000 }, burstEngine);
    await page.waitForFunction(
      (e) => !document.querySelector(`#poolbar div[data-engine="${e}"]`), { timeout: 30000 }, pausedEngine);
    const during = await page.$eval(`#poolbar div[data-engine="${burstEngine}"]`, (d) => parseFloat(d.style.width));
    assert.ok(during > before, `the burst engine's share grew (${before}% -> ${during}%)`);
    const pausedLane = await page.$$eval("#lanes tbody tr", (rows) =>
      rows.map((r) => r.children[2].textContent).filter((s) => s === "paused").length);
    assert.ok(pausedLane >= 1, "no lane shows paused during the burst");
    assert.match(await page.$eval("#ledger tbody", (e) => e.textContent), /burst on: dashboard/);
    await page.screenshot({ path: process.env.CORTEX_SCREENSHOT, fullPage: true });

    await page.click("#burstbtn");
    await page.waitForFunction(
      (e) => document.getElementById("burst").textContent === "off" &&
             document.querySelector(`#engines tr[data-engine="${e}"] td:nth-child(2)`)?.textContent === "ready",
      { timeout: 90000 }, pausedEngine);
  });
});

test("fits a phone's width: the page never scrolls sideways, wide tables scroll in place", async () => {
  await withPage(async (page) => {
    await logIn(page);
    const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    assert.ok(widths[0] <= widths[1], `page ${widths[0]}px wide in a ${widths[1]}px window`);
  }, { width: 390, height: 844, isMobile: true, hasTouch: true });
});

test("a wrong key is refused and the page asks again", async () => {
  await withPage(async (page) => {
    await page.goto(url);
    await page.waitForSelector("#keyform", { visible: true, timeout: 15000 });
    await page.type("#keyinput", "not-the-key");
    await page.click("#key button");
    await page.waitForFunction(() => document.getElementById("conn").textContent === "admin key needed",
                               { timeout: 15000 });
    assert.equal(await page.$$eval("#engines tbody tr", (r) => r.length), 0);
  });
});
