import { expect, type Page } from "@playwright/test";

// The administrator scripts/test.sh creates with `server create-admin`.
export const ADMIN = {
  email: process.env.E2E_ADMIN_EMAIL ?? "e2e-admin@example.com",
  password: process.env.E2E_ADMIN_PASSWORD ?? "e2e admin passphrase",
};

// Collects console errors and uncaught exceptions so every test can assert
// the page ran cleanly.
export function watchForErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    // A failed sign-in answers 401 on purpose; the browser logs the status.
    if (message.type() === "error" && !message.text().includes("401")) {
      errors.push(`console: ${message.text()}`);
    }
  });
  return errors;
}

// Signs in through the form and waits for the page it leads to.
export async function signIn(page: Page, path = "/", who = ADMIN): Promise<void> {
  await page.goto(path);
  await expect(page).toHaveURL(/\/login/);
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).not.toHaveURL(/\/login/);
}

// A suffix unique to the moment, in letters (for names and emails).
export const unique = () => {
  const letters = "abcdefghij";
  return Date.now().toString().split("").map((d) => letters[Number(d)]).join("");
};

// A new member of staff, added on the Admin page; signs in on its own page.
export async function staffMember(page: Page, role: string): Promise<{ email: string; password: string }> {
  const who = { email: `${role}.${unique()}@example.com`, password: "an auditor's long passphrase" };
  await signIn(page, "/admin");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await page.getByText("Add a member of staff").click();
  await page.locator("#field-email").fill(who.email);
  await page.locator("#field-display_name").fill(`E2E ${role}`);
  await page.locator("#new-user-role").selectOption(role);
  await page.locator("#field-password").fill(who.password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator("#staff-table")).toContainText(who.email);
  return who;
}
