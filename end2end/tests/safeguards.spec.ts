import { expect, test, type APIRequestContext } from "@playwright/test";

import { ADMIN, signIn, staffMember, unique, watchForErrors } from "./support";

function isoDate(offsetDays: number): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
}

// A customer with an active policy, through the API as a partner would.
async function activePolicy(request: APIRequestContext): Promise<{ customerId: string; policyId: string }> {
  const token = await request.post("/api/v1/auth/token", {
    data: { grant_type: "password", username: ADMIN.email, password: ADMIN.password },
  });
  expect(token.status()).toBe(200);
  const headers = { authorization: `Bearer ${(await token.json()).access_token}` };
  const customer = await request.post("/api/v1/customers", {
    headers,
    data: { first_name: "Dana", last_name: "Frost", email: `dana.${unique()}@example.com` },
  });
  expect(customer.status()).toBe(201);
  const customerId = (await customer.json()).id;
  const policy = await request.post("/api/v1/policies", {
    headers,
    data: {
      customer_id: customerId, line: "home", starts_on: isoDate(-10), ends_on: isoDate(300),
      premium: { amount: 90000, currency: "USD" }, coverage_limit: { amount: 2000000, currency: "USD" },
      deductible: { amount: 25000, currency: "USD" },
    },
  });
  const policyId = (await policy.json()).id;
  const activated = await request.post(`/api/v1/policies/${policyId}/actions`, { headers, data: { action: "activate" } });
  expect(activated.status()).toBe(200);
  return { customerId, policyId };
}

test("cancelling a policy first opens a page that restates what it does, and going back changes nothing", async ({ page, request }) => {
  const errors = watchForErrors(page);
  const { policyId } = await activePolicy(request);
  await signIn(page, `/policies/${policyId}`);
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await expect(page.locator("#policy-status")).toHaveText("Active");
  await expect(page.getByRole("button", { name: "Cancel", exact: true })).toHaveCount(0);

  await page.getByRole("link", { name: "Cancel…" }).click();
  await expect(page).toHaveURL(/\?confirm=cancel$/);
  await expect(page.locator("#confirm-step")).toContainText("can never be reinstated");
  await page.locator("#confirm-back").click();
  await expect(page.locator("#confirm-step")).toHaveCount(0);
  await expect(page.locator("#policy-status")).toHaveText("Active");

  await page.getByRole("link", { name: "Cancel…" }).click();
  await page.getByRole("button", { name: "Yes, cancel the policy" }).click();
  await expect(page.locator("#policy-status")).toHaveText("Cancelled");
  await expect(page.locator("#confirm-step")).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("erasing a customer's personal data takes the confirmation page, without JavaScript too", async ({ browser, request }) => {
  const { customerId } = await activePolicy(request);
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, `/customers/${customerId}`);
  await expect(page.getByRole("button", { name: /erase/i })).toHaveCount(0);

  await page.getByRole("link", { name: "Erase personal data…" }).click();
  await expect(page.locator("#confirm-step")).toContainText("backups included");
  await page.getByRole("button", { name: "Yes, erase the personal data" }).click();
  await expect(page.locator(".page-lede")).toContainText("Personal data erased");
  await context.close();
});

test("an auditor reads the review queue and the admin page without controls it may not use, and is told why", async ({ page, browser }) => {
  const auditor = await staffMember(page, "auditor");
  const context = await browser.newContext();
  const theirs = await context.newPage();
  const errors = watchForErrors(theirs);
  await signIn(theirs, "/reviews", auditor);
  await expect(theirs.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await expect(theirs.getByRole("heading", { level: 1 })).toHaveText("Review queue");
  await expect(theirs.locator("#queue-role-note")).toContainText("your role (Auditor) may not decide claims");
  await expect(theirs.getByRole("button", { name: "Assign to me" })).toHaveCount(0);

  await theirs.goto("/admin");
  await expect(theirs.locator(".error-panel")).toContainText("You do not have permission to manage staff accounts");
  await expect(theirs.locator("details.form-panel")).toHaveCount(0);
  await expect(theirs.getByText("Add a member of staff")).toHaveCount(0);
  // /admin answers 403 on purpose; the browser logs the status.
  expect(errors.filter((e) => !e.includes("403"))).toEqual([]);
  await context.close();
});
