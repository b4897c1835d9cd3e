import { expect, test } from "@playwright/test";

import { signIn, watchForErrors } from "./support";

const unique = () => {
  const letters = "abcdefghij";
  return Date.now().toString().split("").map((d) => letters[Number(d)]).join("");
};

test("staff create a customer, see it masked, find it by email and reveal a field with a reason", async ({ page }) => {
  const errors = watchForErrors(page);
  const tag = unique();
  const email = `pat.${tag}@example.com`;
  await signIn(page, "/customers");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");

  await page.getByText("New customer").click();
  await page.locator("#field-first_name").fill(`Pat${tag}`);
  await page.locator("#field-last_name").fill("Quinn");
  await page.locator("#field-email").fill(email);
  await page.locator("#field-national_id").fill("987-65-4321");
  await page.getByRole("button", { name: "Create customer" }).click();

  await expect(page).toHaveURL(/\/customers\/[0-9a-f-]{36}$/);
  const facts = page.locator("#customer-facts");
  await expect(facts).toContainText("p***@example.com");
  await expect(facts).toContainText("***-**-4321");
  await expect(facts).not.toContainText(email);

  await page.locator("#reveal-field").selectOption("email");
  await page.locator("#field-reason").fill("verifying identity on call 4411");
  await page.getByRole("button", { name: "Reveal" }).click();
  await expect(page.locator("#revealed-value")).toHaveText(email);

  await page.goto(`/customers?q=${encodeURIComponent(email.toUpperCase())}`);
  await expect(page.locator("#customer-table tbody tr")).toHaveCount(1);
  await expect(page.locator("#customer-table")).toContainText("Q***");

  // The reveal is on the audit trail, and the chain verifies.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit", exact: true }).click();
  await expect(page.locator("#audit-table")).toContainText("customer.pii_revealed");
  await expect(page.locator("#audit-table")).toContainText("verifying identity on call 4411");
  await page.getByRole("button", { name: "Verify the chain" }).click();
  await expect(page.locator("#chain-status")).toContainText("Intact");
  expect(errors).toEqual([]);
});

test("the create-customer form works without JavaScript and names the broken rules", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await signIn(page, "/customers");

  await page.getByText("New customer").click();
  await page.locator("#field-first_name").fill("Robin");
  await page.locator("#field-last_name").fill("Shaw");
  await page.locator("#field-email").fill("robin@example");
  await page.getByRole("button", { name: "Create customer" }).click();
  await expect(page.locator("#field-email-error")).toContainText("must be an email address");

  // The panel stays open to show the errors.
  await page.locator("#field-first_name").fill("Robin");
  await page.locator("#field-last_name").fill("Shaw");
  await page.locator("#field-email").fill(`robin.${unique()}@example.com`);
  await page.getByRole("button", { name: "Create customer" }).click();
  await expect(page).toHaveURL(/\/customers\/[0-9a-f-]{36}$/);
  await expect(page.locator("#customer-facts")).toContainText("r***@example.com");
  await context.close();
});
