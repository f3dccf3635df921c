// The /ui dashboard in a real browser (Debian's Chromium, headless, driven by puppeteer-core),
// against a running `cortex up` (started by tests/integration/dashboard_test.cpp):
//   CORTEX_UI_URL      the page, e.g. http://127.0.0.1:PORT/ui
//   CORTEX_ADMIN_KEY   the gateway's admin key (the page must ask for it)
//   CORTEX_CHROMIUM    the browser binary
//   CORTEX_SCREENSHOT  where to save a picture of the page once it shows the burst
//   CORTEX_BURST_ENGINE, CORTEX_PAUSED_ENGINE  the engine with the burst profile, the one it pauses
import { test } from "node:test";
import assert from "node:assert/strict";
import puppeteer from "puppeteer-core";

const url = process.env.CORTEX_UI_URL;
const burstEngine = process.env.CORTEX_BURST_ENGINE;
const pausedEngine = process.env.CORTEX_PAUSED_ENGINE;

async function withPage(fn) {
  const browser = await puppeteer.launch({
    executablePath: process.env.CORTEX_CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const errors = [];
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    page.on("pageerror", (e) => errors.push(String(e)));
    await fn(page);
  } finally {
    await browser.close();
  }
  assert.deepEqual(errors, [], "the page threw");
}

// The text of an engine's state cell, or "" while its row is not drawn.
const engineState = (page, name) =>
  page.evaluate((n) => {
    const tr = document.querySelector(`#engines tr[data-engine="${n}"]`);
    return tr ? tr.children[1].textContent : "";
  }, name);

test("asks for the admin key, then shows engines, lanes and the memory pool live", async () => {
  await withPage(async (page) => {
    await page.goto(url);
    await page.waitForSelector("#keyform", { visible: true, timeout: 15000 });
    assert.match(await page.$eval("#conn", (e) => e.textContent), /admin key/);
    await page.type("#keyinput", process.env.CORTEX_ADMIN_KEY);
    await page.click("#key button");
    await page.waitForFunction(
      (n) => document.querySelector(`#engines tr[data-engine="${n}"] td:nth-child(2)`)?.textContent === "ready",
      { timeout: 30000 }, burstEngine);
    assert.equal(await page.$eval("#conn", (e) => e.textContent), "live");
    assert.equal(await engineState(page, pausedEngine), "ready");
    const lanes = await page.$$eval("#lanes tbody tr", (rows) => rows.map((r) => r.dataset.lane));
    assert.ok(lanes.length >= 2, `lanes drawn: ${lanes}`);
    // Both engines hold memory in the ledger: one bar segment each.
    const segments = await page.$$eval("#poolbar div", (ds) => ds.map((d) => d.dataset.engine));
    assert.deepEqual(segments.sort(), [burstEngine, pausedEngine].sort());
    assert.match(await page.$eval("#legend", (e) => e.textContent), /free .* of /);

    // The burst button: the paused engine leaves the pool, the burst engine grows in it.
    const before = await page.$eval(`#poolbar div[data-engine="${burstEngine}"]`, (d) => parseFloat(d.style.width));
    await page.click("#burstbtn");
    await page.waitForFunction(
      (e) => document.getElementById("burst").textContent.startsWith("on for " + e) &&
             !document.getElementById("burst").textContent.includes("moving memory"),
      { timeout: 60000 }, burstEngine);
    await page.waitForFunction(
      (e) => !document.querySelector(`#poolbar div[data-engine="${e}"]`), { timeout: 30000 }, pausedEngine);
    const during = await page.$eval(`#poolbar div[data-engine="${burstEngine}"]`, (d) => parseFloat(d.style.width));
    assert.ok(during > before, `the burst engine's share grew (${before}% -> ${during}%)`);
    assert.match(await page.$eval("#ledger tbody", (e) => e.textContent), /burst/);
    await page.screenshot({ path: process.env.CORTEX_SCREENSHOT, fullPage: true });

    await page.click("#burstbtn");
    await page.waitForFunction(
      (e) => document.getElementById("burst").textContent === "off" &&
             document.querySelector(`#engines tr[data-engine="${e}"] td:nth-child(2)`)?.textContent === "ready",
      { timeout: 60000 }, pausedEngine);
  });
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
