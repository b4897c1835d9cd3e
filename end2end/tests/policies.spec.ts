import { expect, test } from "@playwright/test";

import { signIn, watchForErrors } from "./support";

test("staff issue a quote from a customer's page, activate it, and see why other moves are blocked", async ({ page }) => {
  const errors = watchForErrors(page);
  const letters = "abcdefghij";
  const tag = Date.now().toString().split("").map((d) => letters[Number(d)]).join("");
  await signIn(page, "/customers");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");

  await page.getByText("New customer").click();
  await page.locator("#field-first_name").fill("Morgan");
  await page.locator("#field-last_name").fill("Lake");
  await page.locator("#field-email").fill(`morgan.${tag}@example.com`);
  await page.getByRole("button", { name: "Create customer" }).click();
  await expect(page).toHaveURL(/\/customers\/[0-9a-f-]{36}$/);

  await page.getByText("New policy").click();
  await page.locator("#policy-line").selectOption("home");
  await page.locator("#field-starts_on").fill("2026-01-01");
  await page.locator("#field-ends_on").fill("2026-12-31");
  await page.locator("#field-premium").fill("1,200.00");
  await page.locator("#field-coverage_limit").fill("500,000");
  await page.locator("#field-deductible").fill("500");
  await page.getByRole("button", { name: "Issue quote" }).click();

  await expect(page).toHaveURL(/\/policies\/[0-9a-f-]{36}$/);
  await expect(page.locator("#policy-status")).toHaveText("Quote");
  await expect(page.locator("#policy-facts")).toContainText("USD 1,200.00");
  await expect(page.locator(".blocked-list")).toContainText("Lapse");

  // A quote's terms can still change; the page shows the new ones.
  await page.getByText("Edit quote").click();
  await page.locator("#edit-quote #field-premium").fill("1,350.00");
  await page.getByRole("button", { name: "Save quote" }).click();
  await expect(page.locator("#policy-facts")).toContainText("USD 1,350.00");

  await page.getByRole("button", { name: "Activate" }).click();
  await expect(page.locator("#policy-status")).toHaveText("Active");
  await expect(page.getByRole("button", { name: "Renew for the next term" })).toBeVisible();

  await page.goto("/policies?status=active&line=home");
  await expect(page.locator("#policy-table")).toContainText("POL-");
  expect(errors).toEqual([]);
});
