import { expect, test } from "@playwright/test";

import { signIn, watchForErrors } from "./support";

test.beforeEach(async ({ page }) => {
  await signIn(page);
});

test("the dashboard hydrates and the navigation toggle works", async ({ page }) => {
  const errors = watchForErrors(page);

  await page.goto("/");

  // Set by an effect that only runs in the browser once the WASM has hydrated.
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await expect(page).toHaveTitle("Dashboard · Vanguard");

  const toggle = page.locator("#nav-toggle");
  const sidebar = page.locator("#sidebar");
  await expect(toggle).toHaveAttribute("aria-expanded", "true");
  await expect(sidebar).toBeVisible();

  await toggle.click();
  await expect(toggle).toHaveAttribute("aria-expanded", "false");
  await expect(sidebar).toBeHidden();

  await toggle.click();
  await expect(sidebar).toBeVisible();
  expect(errors).toEqual([]);
});

test("the environment banner survives hydration and client-side navigation", async ({ page }) => {
  // scripts/test.sh starts the server with VANGUARD_ENVIRONMENT_BANNER set.
  const errors = watchForErrors(page);
  await page.goto("/");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");

  const banner = page.getByRole("complementary", { name: "Environment" });
  await expect(banner).toHaveText("End-to-end test server: throwaway data");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Claims" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Claims");
  await expect(banner).toBeVisible();
  expect(errors).toEqual([]);
});

test("the system panel is loaded through a server function", async ({ page }) => {
  const errors = watchForErrors(page);

  await page.goto("/");

  const panel = page.locator("#system-status");
  await expect(panel).toHaveAttribute("data-status", "ok");
  await expect(panel).toContainText("sqlite");
  expect(errors).toEqual([]);
});

test("client-side navigation reaches every section and marks the current one", async ({ page }) => {
  const errors = watchForErrors(page);
  await page.goto("/");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");

  for (const label of ["Customers", "Policies", "Claims", "Review queue", "Service levels", "Audit", "Admin"]) {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: label }).click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(label);
    await expect(
      page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: label, exact: true }),
    ).toHaveAttribute("aria-current", "page");
  }
  expect(errors).toEqual([]);
});

test("an unknown address shows the not-found page inside the shell", async ({ page }) => {
  const response = await page.goto("/no/such/page");

  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Not found");
  await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
});

test("without JavaScript the server-rendered shell is complete", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();

  await signIn(page, "/customers");

  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Customers");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "false");
  await context.close();
});

test("hydration completes under the CSP with zero violations and a fresh nonce per response", async ({ page }) => {
  const errors = watchForErrors(page);
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { cspViolations: string[] }).cspViolations = seen;
    document.addEventListener("securitypolicyviolation", (event) =>
      seen.push(`${event.violatedDirective} ${event.blockedURI}`),
    );
  });
  const nonceOf = (csp: string | undefined) => /'nonce-([^']+)'/.exec(csp ?? "")?.[1];

  const first = await page.goto("/");
  const firstNonce = nonceOf(first?.headers()["content-security-policy"]);
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await expect(page.locator("#system-status")).toHaveAttribute("data-status", "ok");

  const violations = await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);
  expect(violations).toEqual([]);
  expect(firstNonce).toBeTruthy();

  const second = await page.reload();
  expect(nonceOf(second?.headers()["content-security-policy"])).not.toEqual(firstNonce);
  expect(errors).toEqual([]);
});
