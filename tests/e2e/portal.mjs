// The developer portal end to end in real Chromium (playwright-core drives the Debian
// `chromium`). Started by crates/cli/tests/it/portal_browser.rs, which runs a real server and
// gateway and passes everything through the environment:
//
//   PORTAL      base URL of the control plane (http://127.0.0.1:port)
//   GATEWAY     base URL of the gateway
//   CHROMIUM    the browser executable
//   SHOTS       directory for the screenshots of every page (test artifacts)
//   PASSWORD    the password of dev@example.com and owner@example.com
//   PHASE       "subscribe" (developer → owner approval → API key → gateway call) or
//               "usage" (the owner sees the call in the usage chart)
//
// Prints one JSON line on success; any failed expectation throws (exit code 1).
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const PORTAL = env("PORTAL");
const GATEWAY = env("GATEWAY");
const SHOTS = env("SHOTS");
const PASSWORD = env("PASSWORD");
const PHASE = env("PHASE");
mkdirSync(SHOTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: env("CHROMIUM"),
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});

function expect(cond, what) {
  if (!cond) throw new Error(`expected: ${what}`);
}

async function shot(page, name) {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

async function signIn(email) {
  const context = await browser.newContext({ baseURL: PORTAL });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: PORTAL });
  const page = await context.newPage();
  const violations = [];
  page.on("console", (m) => {
    if (m.type() === "error") violations.push(m.text());
  });
  page.violations = violations;
  await page.goto("/portal/apps");
  expect(page.url().includes("/portal/signin"), "signed-out pages lead to sign-in");
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
  await shot(page, `${email.split("@")[0]}-01-signin`);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL("**/portal/apps");
  return page;
}

async function callGateway(key) {
  for (let i = 0; i < 50; i++) {
    const r = await fetch(`${GATEWAY}/orders/42`, { headers: { "x-api-key": key } });
    if (r.status === 200) return r.status;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error("the gateway never accepted the API key");
}

if (PHASE === "subscribe") {
  // The developer creates an application.
  const dev = await signIn("dev@example.com");
  await shot(dev, "dev-02-my-apps-empty");
  await dev.getByRole("link", { name: "Create application" }).first().click();
  await dev.getByLabel("Name", { exact: true }).fill("billing");
  await dev.getByLabel("Description", { exact: true }).fill("Bills customers for their orders");
  await shot(dev, "dev-03-create-app");
  await dev.getByRole("button", { name: "Create application" }).click();
  await dev.getByText("it is shown only once").first().waitFor();
  const clientSecret = (await dev.locator("#secret-value").textContent()).trim();
  expect(clientSecret.length >= 32, "a client secret is shown");
  await shot(dev, "dev-04-app-created-secret-once");
  const clientId = (await dev.locator("#client-id").textContent()).trim();

  // Browse the catalog and subscribe to the approval plan.
  await dev.getByRole("link", { name: "Catalog", exact: true }).click();
  await shot(dev, "dev-05-catalog");
  await dev.getByRole("link", { name: "orders", exact: true }).click();
  await dev.getByRole("heading", { name: "Plans", exact: true }).waitFor();
  await dev.getByLabel("Plan", { exact: true }).selectOption("gold");
  await shot(dev, "dev-06-api-detail");
  await dev.getByRole("button", { name: "Subscribe" }).click();
  await dev.getByText("waits for the API owner's approval").waitFor();
  await shot(dev, "dev-07-subscription-pending");

  // The owner approves it from the dashboard.
  const owner = await signIn("owner@example.com");
  await owner.getByRole("link", { name: "Owner dashboard", exact: true }).click();
  await owner.getByRole("heading", { name: "Waiting for approval", exact: true }).waitFor();
  expect(await owner.getByRole("cell", { name: "gold" }).count() >= 1, "the request is queued");
  await shot(owner, "owner-02-approval-queue");
  await owner.getByRole("button", { name: /^Approve/ }).click();
  await owner.getByText("Subscription approved.").waitFor();
  await shot(owner, "owner-03-approved");

  // The developer makes an API key and copies it with the Copy button.
  await dev.goto(`/portal/apps/${clientId}`);
  await dev.getByText("approved", { exact: true }).first().waitFor();
  await dev.getByRole("button", { name: "Create API key" }).click();
  await dev.getByText("New API key: copy it now").waitFor();
  await dev.getByRole("button", { name: "Copy" }).click();
  await dev.getByText("Copied to the clipboard.").waitFor();
  const copied = (await dev.evaluate(() => navigator.clipboard.readText())).trim();
  const shown = (await dev.locator("#secret-value").textContent()).trim();
  expect(copied === shown && copied.length >= 20, `the copied key is the shown one (${copied.slice(0, 6)}…)`);
  await shot(dev, "dev-08-api-key-copied");

  // A request through the gateway succeeds with it.
  const status = await callGateway(copied);
  for (const p of [dev, owner]) {
    expect(p.violations.length === 0, `no console errors (CSP): ${p.violations.join("; ")}`);
  }
  console.log(JSON.stringify({ ok: true, gateway_status: status }));
} else if (PHASE === "usage") {
  const owner = await signIn("owner@example.com");
  await owner.goto("/portal/owner/apis/orders?days=7");
  await owner.getByRole("heading", { name: "Usage", exact: true }).waitFor();
  const text = await owner.locator("main").textContent();
  expect(/1 request in the last 7 days/.test(text), "the owner sees the call");
  expect(await owner.locator("svg.chart").count() >= 3, "three charts are drawn");
  expect(await owner.locator("svg.chart").first().innerHTML().then((h) => h.includes("billing")), "the chart names the application");
  await shot(owner, "owner-04-usage");
  expect(owner.violations.length === 0, `no console errors (CSP): ${owner.violations.join("; ")}`);
  console.log(JSON.stringify({ ok: true }));
} else {
  throw new Error(`unknown PHASE ${PHASE}`);
}
await browser.close();
