import { expect, test } from "@playwright/test";

import { ADMIN, signIn, watchForErrors } from "./support";

test("signing in returns to the page asked for, and signing out ends the session", async ({ page }) => {
  const errors = watchForErrors(page);

  await signIn(page, "/claims");

  await expect(page).toHaveURL(/\/claims$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Claims");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await expect(page.locator(".user-menu")).toContainText("Administrator");

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
  // Signing out navigates twice (redirect, then a full load): let both land.
  await page.waitForLoadState("networkidle");
  await page.goto("/");
  await expect(page).toHaveURL(/\/login\?next=%2F/);
  expect(errors).toEqual([]);
});

test("a wrong password is refused in place, and a malformed email never leaves the browser", async ({ page }) => {
  await page.goto("/login");
  await expect(page.locator(".auth-page")).toHaveAttribute("data-hydrated", "true");

  // Checked in the browser by the same rule the server applies (the
  // browser's own check accepts an address without a dot in the domain).
  let requests = 0;
  page.on("request", (request) => {
    if (request.method() === "POST") requests += 1;
  });
  await page.getByLabel("Email").fill("jane@example");
  await page.getByLabel("Password").fill("anything at all");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.locator("#field-email-error")).toContainText("must be an email address");
  expect(requests).toBe(0);

  await page.getByLabel("Email").fill(ADMIN.email);
  await page.getByLabel("Password").fill("not the right passphrase");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("The email or password is incorrect");
  await expect(page).toHaveURL(/\/login/);
});

test("signing in and out work without JavaScript", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();

  await page.goto("/login");
  await page.getByLabel("Email").fill(ADMIN.email);
  await page.getByLabel("Password").fill("not the right passphrase");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("The email or password is incorrect");

  await page.getByLabel("Email").fill(ADMIN.email);
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Dashboard");

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
  // Signing out navigates twice (redirect, then a full load): let both land.
  await page.waitForLoadState("networkidle");
  await page.goto("/admin");
  await expect(page).toHaveURL(/\/login\?next=%2Fadmin/);
  await context.close();
});

test("an administrator issues an API client and sees its secret once", async ({ page }) => {
  const errors = watchForErrors(page);
  await signIn(page, "/admin");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");

  await page.getByText("Issue an API client").click();
  const name = `e2e-partner-${Date.now()}`;
  await page.locator("#field-name").fill(name);
  // Every client belongs to a partner or is explicitly internal.
  await page.locator("#new-client-internal").check();
  await page.getByRole("button", { name: "Issue client" }).click();

  await expect(page.locator("#issued-secret")).toContainText("vcs_");
  await expect(page.locator("#client-table")).toContainText(name);
  await page.reload();
  await expect(page.locator("#issued-secret")).toHaveCount(0);
  expect(errors).toEqual([]);
});
