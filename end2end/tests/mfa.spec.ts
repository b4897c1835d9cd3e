import { createHmac } from "node:crypto";

import { expect, test, type Page } from "@playwright/test";

import { staffMember, watchForErrors } from "./support";

// RFC 4648 base32 (the manual key, spaces and padding ignored) to bytes.
function base32Decode(text: string): Buffer {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  const bytes: number[] = [];
  for (const char of text.toUpperCase().replace(/[\s=]/g, "")) {
    const index = alphabet.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${char}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

// RFC 6238 (HMAC-SHA-1, 30-second steps, 6 digits): the code of the step
// `offset` steps after the current one, as an authenticator app shows it.
function totp(key: Buffer, offset = 0): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + offset));
  const mac = createHmac("sha1", key).update(counter).digest();
  const at = mac[mac.length - 1] & 0x0f;
  const binary = mac.readUInt32BE(at) & 0x7fffffff;
  return (binary % 1_000_000).toString().padStart(6, "0");
}

// The password step of a user with two-step sign-in: it leads to the code.
async function passwordStep(page: Page, who: { email: string; password: string }): Promise<void> {
  // Signing out navigates twice (the server's redirect, then a full load
  // that drops the client's state): let both land before starting over,
  // or this navigation is interrupted by the second.
  await page.waitForLoadState("networkidle");
  await page.goto("/login");
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/login\/verify$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Enter your code");
}

async function enterCode(page: Page, code: string): Promise<void> {
  await page.getByLabel("Code", { exact: true }).fill(code);
  await page.getByRole("button", { name: "Continue" }).click();
}

test("a member of staff switches on two-step sign-in, then signs in with an app code or a recovery code, without JavaScript too", async ({ page, browser }) => {
  const who = await staffMember(page, "adjuster");
  const context = await browser.newContext();
  const theirs = await context.newPage();
  const errors = watchForErrors(theirs);

  // Enrolment, from My account.
  await theirs.goto("/login");
  await theirs.getByLabel("Email").fill(who.email);
  await theirs.getByLabel("Password").fill(who.password);
  await theirs.getByRole("button", { name: "Sign in" }).click();
  await expect(theirs.getByRole("heading", { level: 1 })).toHaveText("Dashboard");
  await expect(theirs.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await theirs.locator(".user-menu .user-name").click();
  await expect(theirs).toHaveURL(/\/account$/);
  await theirs.getByRole("link", { name: "Set up or manage two-step sign-in" }).click();
  await expect(theirs).toHaveURL(/\/account\/mfa$/);
  await expect(theirs.getByRole("heading", { level: 1 })).toHaveText("Two-step sign-in");
  await expect(theirs.locator(".qr-code svg")).toHaveCount(1);
  const manualKey = (await theirs.locator("#manual-key").textContent()) ?? "";
  expect(manualKey).toMatch(/^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$/);
  const key = base32Decode(manualKey);
  expect(key.length).toBe(20);

  await theirs.getByLabel("Code from the app").fill(totp(key));
  await theirs.getByRole("button", { name: "Switch on" }).click();
  const shown = theirs.locator("#recovery-codes li code");
  await expect(shown).toHaveCount(10);
  const recoveryCodes = await shown.allTextContents();
  for (const code of recoveryCodes) expect(code).toMatch(/^[a-z0-9]{4}(-[a-z0-9]{4}){3}$/);
  expect(new Set(recoveryCodes).size).toBe(10);
  await expect(theirs.getByText("Two-step sign-in is on.")).toBeVisible();
  await expect(theirs.getByText("10 of 10 recovery codes left.")).toBeVisible();
  // Shown once only.
  await theirs.reload();
  await expect(theirs.getByText("Two-step sign-in is on.")).toBeVisible();
  await expect(theirs.locator("#recovery-codes")).toHaveCount(0);

  // The password alone no longer signs in; a code from the app does. The
  // enrolment spent the current step, and a step is accepted once: the
  // next step's code (inside the server's window of one step either side).
  await theirs.getByRole("button", { name: "Sign out" }).click();
  await expect(theirs).toHaveURL(/\/login/);
  await passwordStep(theirs, who);
  await enterCode(theirs, totp(key, 1));
  await expect(theirs).toHaveURL(/\/$/);
  await expect(theirs.getByRole("heading", { level: 1 })).toHaveText("Dashboard");
  await expect(theirs.locator(".app")).toHaveAttribute("data-hydrated", "true");

  // A recovery code instead of the app.
  await theirs.getByRole("button", { name: "Sign out" }).click();
  await expect(theirs).toHaveURL(/\/login/);
  await passwordStep(theirs, who);
  await enterCode(theirs, recoveryCodes[0]);
  await expect(theirs.getByRole("heading", { level: 1 })).toHaveText("Dashboard");
  await theirs.goto("/account/mfa");
  await expect(theirs.getByText("9 of 10 recovery codes left.")).toBeVisible();
  expect(errors).toEqual([]);
  await context.close();

  // Without JavaScript: the second step is a plain form post. A spent
  // recovery code is refused in place; an unused one signs in.
  const plain = await browser.newContext({ javaScriptEnabled: false });
  const noScript = await plain.newPage();
  await passwordStep(noScript, who);
  await enterCode(noScript, recoveryCodes[0]);
  await expect(noScript).toHaveURL(/\/login\/verify/);
  await expect(noScript.getByText("is not a current code of your authenticator app or an unused recovery code").first()).toBeVisible();
  await enterCode(noScript, recoveryCodes[1]);
  await expect(noScript.getByRole("heading", { level: 1 })).toHaveText("Dashboard");
  await noScript.goto("/account/mfa");
  await expect(noScript.getByText("8 of 10 recovery codes left.")).toBeVisible();
  await plain.close();
});
