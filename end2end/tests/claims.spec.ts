import { expect, test } from "@playwright/test";

import { ADMIN, signIn, staffMember, unique, watchForErrors } from "./support";

function isoDate(offsetDays: number): string {
  const date = new Date(Date.now() + offsetDays * 86_400_000);
  return date.toISOString().slice(0, 10);
}

test("staff file a claim, the pipeline triages it, an adjuster takes it from the queue and approves it, and the audit trail shows it", async ({ page }) => {
  test.setTimeout(90_000);
  const errors = watchForErrors(page);
  const letters = "abcdefghij";
  const tag = Date.now().toString().split("").map((d) => letters[Number(d)]).join("");
  await signIn(page, "/customers");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");

  // A customer and an active policy covering the last month.
  await page.getByText("New customer").click();
  await page.locator("#field-first_name").fill("Robin");
  await page.locator("#field-last_name").fill("Vale");
  await page.locator("#field-email").fill(`robin.${tag}@example.com`);
  await page.getByRole("button", { name: "Create customer" }).click();
  await expect(page).toHaveURL(/\/customers\/[0-9a-f-]{36}$/);
  await page.getByText("New policy").click();
  await page.locator("#policy-line").selectOption("home");
  await page.locator("#field-starts_on").fill(isoDate(-30));
  await page.locator("#field-ends_on").fill(isoDate(300));
  await page.locator("#field-premium").fill("900");
  await page.locator("#field-coverage_limit").fill("100,000");
  await page.locator("#field-deductible").fill("250");
  await page.getByRole("button", { name: "Issue quote" }).click();
  await expect(page).toHaveURL(/\/policies\/[0-9a-f-]{36}$/);
  await page.getByRole("button", { name: "Activate" }).click();
  await expect(page.locator("#policy-status")).toHaveText("Active");

  // The claim, from the policy page's link: the form opens pre-filled.
  await page.locator("#file-claim").click();
  await expect(page).toHaveURL(/\/claims\?policy_number=POL-/);
  await expect(page.locator("#field-policy_number")).toHaveValue(/^POL-/);
  // Checked in the browser first: an amount that is not money.
  await page.locator("#field-incident_date").fill(isoDate(3));
  await page.locator("#claim-description").fill("Storm damage to the roof and the garden shed.");
  await page.getByLabel("Line 1 code").fill("ROOF");
  await page.getByLabel("Line 1 amount").fill("not money");
  await page.getByRole("button", { name: "Submit claim" }).click();
  await expect(page.locator(".form-alert")).toContainText("correct the highlighted fields");
  await expect(page.locator(".lines-table tr.has-error")).toHaveCount(1);
  // Then by the server: a loss in the future (the browser does not know
  // the server's today).
  await page.getByLabel("Line 1 amount").fill("3,200.00");
  await page.getByLabel("Line 2 code").fill("SHED");
  await page.getByLabel("Line 2 description").fill("Garden shed panels");
  await page.getByLabel("Line 2 amount").fill("800");
  await page.getByRole("button", { name: "Submit claim" }).click();
  await expect(page.locator("#field-incident_date-error")).toContainText("future");
  await page.locator("#field-incident_date").fill(isoDate(-2));
  await page.getByRole("button", { name: "Submit claim" }).click();
  await expect(page).toHaveURL(/\/claims\/[0-9a-f-]{36}$/);
  await expect(page.locator("#claim-total")).toHaveText("USD 4,000.00");
  const number = (await page.locator("h1").textContent())?.replace("Claim ", "").trim() ?? "";
  expect(number).toMatch(/^CLM-\d{4}-\d{6}$/);

  // The pipeline runs in the background: reload until it has triaged.
  await expect(async () => {
    await page.reload();
    await expect(page.locator("#claim-status")).toHaveText("Triaged", { timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await expect(page.locator("#claim-coverage")).toContainText("Covered");
  await expect(page.locator("#claim-pipeline")).toContainText("snapshot");
  await expect(page.locator("#claim-pipeline")).toContainText("notify");

  // Attachments: a real PDF is stored; a GIF named like a PDF is refused
  // by its content, and the refusal comes back to the page.
  await page.locator("#attachment-file").setInputFiles({
    name: "estimate.pdf", mimeType: "application/pdf", buffer: Buffer.from("%PDF-1.4 plumber's estimate"),
  });
  await page.locator("#attachment-form").getByRole("button", { name: "Upload" }).click();
  await expect(page.locator("#claim-attachments")).toContainText("estimate.pdf");
  await expect(page.locator("#claim-attachments")).toContainText("PDF document");
  await page.locator("#attachment-file").setInputFiles({
    name: "photo.pdf", mimeType: "application/pdf", buffer: Buffer.from("GIF89a not really"),
  });
  await page.locator("#attachment-form").getByRole("button", { name: "Upload" }).click();
  await expect(page.locator("#attachment-error")).toContainText("checked by content");
  const download = page.waitForEvent("download");
  await page.locator("#claim-attachments").getByRole("link", { name: "estimate.pdf" }).click();
  expect((await download).suggestedFilename()).toBe("estimate.pdf");

  // The review queue: take it.
  await page.goto("/reviews");
  const row = page.locator("#queue-table tr", { hasText: number });
  await expect(row).toBeVisible();
  // Its SLA clock, in words: fresh claims are days from their deadline.
  await expect(row.locator(".sla-deadline")).toContainText(/Acknowledge due in \d+ days/);
  await row.getByRole("button", { name: "Assign to me" }).click();
  await expect(row).toContainText("In review");
  await expect(row.locator(".sla-deadline")).toContainText(/Decide due in \d+ days/);

  // Decide: an amount above what the policy pays is refused with the rule.
  await row.getByRole("link", { name: number }).click();
  await expect(page.locator("#claim-status")).toHaveText("In review");
  await page.locator("#field-amount").fill("200,000.00");
  await page.getByRole("button", { name: "Record decision" }).click();
  await expect(page.locator("#decision-form .form-alert")).toBeVisible();
  await page.locator("#field-amount").fill("3,750.00");
  await page.getByRole("button", { name: "Record decision" }).click();
  await expect(page.locator("#claim-status")).toHaveText("Approved");
  await expect(page.locator("#claim-approved")).toHaveText("USD 3,750.00");
  await expect(page.locator("#claim-timeline")).toContainText("approve");
  await expect(page.locator("#claim-sla")).toContainText("(decided)");

  // Settlement: the claimant as a party (masked once saved), a reserve on
  // the property bucket, then the final payment, which pays the claim.
  const open = async (summary: string, field: string) => {
    if (!(await page.locator(field).isVisible())) await page.getByText(summary, { exact: true }).click();
  };
  await open("Add a party", "#party-name");
  await page.locator("#party-role").selectOption("claimant");
  await page.locator("#party-name").fill("Robin Vale");
  await page.getByRole("button", { name: "Add party" }).click();
  await expect(page.locator("#claim-parties")).toContainText("Claimant");
  await expect(page.locator("#claim-parties")).not.toContainText("Robin Vale");
  await open("Reveal a party's details", "#reveal-reason");
  await page.locator("#reveal-field").selectOption("name");
  await page.locator("#reveal-reason").fill("Confirming the payee's name for the transfer");
  await page.locator("#reveal-party-form").getByRole("button", { name: "Reveal" }).click();
  await expect(page.locator("#revealed-party")).toHaveText("Robin Vale");
  await open("Set a reserve", "#reserve-amount");
  await page.locator("#reserve-category").selectOption("property");
  await page.locator("#reserve-amount").fill("3,750.00");
  await page.locator("#reserve-reason").fill("Roofer's estimate");
  await page.getByRole("button", { name: "Set reserve" }).click();
  await expect(page.locator("#financials-total")).toContainText("USD 3,750.00");
  await expect(page.locator("#claim-incurred")).toHaveText("USD 3,750.00");
  // More than the reserve is refused on the payment form, naming the rule.
  const pay = async (amount: string) => {
    await open("Record a payment", "#payment-amount");
    await page.locator("#payment-category").selectOption("property");
    await page.locator("#payment-payment_type").selectOption("final");
    await page.locator("#payment-amount").fill(amount);
    await page.getByRole("button", { name: "Record payment" }).click();
  };
  await pay("4,000.00");
  await expect(page.locator("#payment-amount-error")).toContainText("outstanding reserve");
  await pay("3,750.00");
  await expect(page.locator("#claim-status")).toHaveText("Paid");
  await expect(page.locator("#claim-paid")).toHaveText("USD 3,750.00");
  await expect(page.locator("#claim-incurred")).toHaveText("USD 3,750.00");
  await expect(page.locator("#claim-ledger")).toContainText("Final");

  // Work on the claim: an activity, found under My work, then done.
  await open("Add an activity", "#activity-subject");
  await page.locator("#activity-subject").fill("Send the settlement letter");
  await page.locator("#activity-due_on").fill(isoDate(2));
  await page.getByRole("button", { name: "Add activity" }).click();
  await expect(page.locator("#claim-activities")).toContainText("due in 2 days");
  await page.goto("/work");
  const work = page.locator("#work-table tr", { hasText: number });
  await expect(work).toContainText("Send the settlement letter");
  await work.getByRole("link", { name: number }).click();
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await page.locator("#claim-activities").getByRole("button", { name: "Done" }).click();
  await expect(page.locator("#claim-activities")).toContainText("Done by");

  await page.locator("#note-body").fill("Approved after the loss adjuster's photos.");
  await page.getByRole("button", { name: "Add note" }).click();
  await expect(page.locator("#claim-notes")).toContainText("loss adjuster's photos");

  await page.goto("/audit");
  await expect(page.locator("body")).toContainText("claim.approve");
  await expect(page.locator("body")).toContainText("claim.payment_recorded");
  // The refusals above (a future loss, an amount over the limit, a payment
  // over its reserve) are 422 answers on purpose; the browser logs their
  // status.
  expect(errors.filter((e) => !e.includes("status of 422"))).toEqual([]);
});

test("a partner's claim arrives through the API, waits in the review queue and is denied with a reason", async ({ page, request }) => {
  test.setTimeout(60_000);
  const errors = watchForErrors(page);
  const letters = "abcdefghij";
  const tag = Date.now().toString().split("").map((d) => letters[Number(d)]).join("");
  // The partner's side: a token, then the same calls a partner system makes.
  const token = await request.post("/api/v1/auth/token", {
    data: { grant_type: "password", username: ADMIN.email, password: ADMIN.password },
  });
  expect(token.status()).toBe(200);
  const headers = { authorization: `Bearer ${(await token.json()).access_token}` };
  const customer = await request.post("/api/v1/customers", {
    headers,
    data: { first_name: "Sam", last_name: "Hale", email: `sam.${tag}@example.com` },
  });
  expect(customer.status()).toBe(201);
  const policy = await request.post("/api/v1/policies", {
    headers,
    data: {
      customer_id: (await customer.json()).id, line: "auto", starts_on: isoDate(-200), ends_on: isoDate(160),
      premium: { amount: 90000, currency: "USD" }, coverage_limit: { amount: 2000000, currency: "USD" },
      deductible: { amount: 25000, currency: "USD" },
    },
  });
  const policyBody = await policy.json();
  await request.post(`/api/v1/policies/${policyBody.id}/actions`, { headers, data: { action: "activate" } });
  const ingested = await request.post("/api/v1/claims", {
    headers: { ...headers, "idempotency-key": `e2e-${tag}` },
    data: {
      policy_number: policyBody.policy_number, incident_date: isoDate(-1), description: "Rear-ended at a junction.",
      lines: [{ code: "BUMPER", amount: { amount: 120000, currency: "USD" } }],
    },
  });
  expect(ingested.status()).toBe(202);
  const receipt = await ingested.json();
  expect(receipt.execution_id).toBeTruthy();

  // The adjuster's side.
  await signIn(page, "/reviews");
  await expect(async () => {
    await page.reload();
    await expect(page.locator("#queue-table")).toContainText(receipt.claim_number, { timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  const row = page.locator("#queue-table tr", { hasText: receipt.claim_number });
  await row.getByRole("button", { name: "Assign to me" }).click();
  await expect(row).toContainText("In review");
  await row.getByRole("link", { name: receipt.claim_number }).click();
  await expect(page.locator("#claim-status")).toHaveText("In review");
  await page.locator("#decision-form input[name=kind][value=deny]").check();
  await page.locator("#field-reason").fill("The policy excludes damage caused while parked illegally.");
  // A denial is final for the claimant: without the explicit confirmation
  // the server sends it back, naming the field.
  await page.getByRole("button", { name: "Record decision" }).click();
  await expect(page.locator("#decision-confirm-error")).toContainText('must be "deny"');
  await expect(page.locator("#claim-status")).toHaveText("In review");
  await page.locator("#decision-confirm").check();
  await page.getByRole("button", { name: "Record decision" }).click();
  await expect(page.locator("#claim-status")).toHaveText("Denied");
  await expect(page.locator("#claim-timeline")).toContainText("parked illegally");
  // The refusal without confirmation is a 422 on purpose.
  expect(errors.filter((e) => !e.includes("status of 422"))).toEqual([]);
});

test("an adjuster's reserve above their authority waits in the approvals queue until a supervisor approves it", async ({ page, browser, request }) => {
  test.setTimeout(90_000);
  const adjuster = await staffMember(page, "adjuster");
  const tag = unique();
  const token = await request.post("/api/v1/auth/token", {
    data: { grant_type: "password", username: ADMIN.email, password: ADMIN.password },
  });
  const headers = { authorization: `Bearer ${(await token.json()).access_token}` };
  const customer = await request.post("/api/v1/customers", {
    headers, data: { first_name: "Ada", last_name: "Reyes", email: `ada.${tag}@example.com` },
  });
  const policy = await (await request.post("/api/v1/policies", {
    headers,
    data: {
      customer_id: (await customer.json()).id, line: "auto", starts_on: isoDate(-200), ends_on: isoDate(160),
      premium: { amount: 90000, currency: "USD" }, coverage_limit: { amount: 10000000, currency: "USD" },
      deductible: { amount: 25000, currency: "USD" },
    },
  })).json();
  await request.post(`/api/v1/policies/${policy.id}/actions`, { headers, data: { action: "activate" } });
  const receipt = await (await request.post("/api/v1/claims", {
    headers,
    data: {
      policy_number: policy.policy_number, incident_date: isoDate(-1), description: "Written off on the motorway.",
      lines: [{ code: "TOTAL", amount: { amount: 6000000, currency: "USD" } }],
    },
  })).json();

  // The adjuster takes the claim and asks for a reserve over their 50,000.00.
  const context = await browser.newContext();
  const theirs = await context.newPage();
  const errors = watchForErrors(theirs);
  await signIn(theirs, "/reviews", adjuster);
  await expect(async () => {
    await theirs.reload();
    await expect(theirs.locator("#queue-table")).toContainText(receipt.claim_number, { timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  const row = theirs.locator("#queue-table tr", { hasText: receipt.claim_number });
  await row.getByRole("button", { name: "Assign to me" }).click();
  await expect(row).toContainText("In review");
  await row.getByRole("link", { name: receipt.claim_number }).click();
  await expect(theirs.locator("#claim-status")).toHaveText("In review");
  await expect(theirs.locator(".app")).toHaveAttribute("data-hydrated", "true");
  await theirs.getByText("Set a reserve", { exact: true }).click();
  await expect(theirs.locator("#my-authority")).toContainText("reserves up to USD 50,000.00");
  await theirs.locator("#reserve-category").selectOption("property");
  await theirs.locator("#reserve-amount").fill("60,000.00");
  await theirs.locator("#reserve-reason").fill("Market value of the car");
  await theirs.getByRole("button", { name: "Set reserve" }).click();
  await expect(theirs.locator("#claim-approvals")).toContainText("Awaiting approval");
  await expect(theirs.locator("#financials-total")).toContainText("USD 0.00");

  // The supervisor approves it from the queue; the line is the adjuster's.
  await page.goto("/approvals");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  const request_row = page.locator("#approvals-table tr", { hasText: receipt.claim_number });
  await expect(request_row).toContainText("USD 60,000.00");
  await request_row.getByRole("button", { name: "Approve" }).click();
  await expect(page.locator(".empty-state")).toHaveText("Nothing is waiting for approval.");
  await theirs.reload();
  await expect(theirs.locator("#financials-total")).toContainText("USD 60,000.00");
  await expect(theirs.locator("#claim-ledger")).toContainText("approved by");
  await expect(theirs.locator("#claim-approvals")).toContainText("Approved by");
  expect(errors).toEqual([]);
  await context.close();
});

test("an administrator registers a webhook endpoint, sees its signing secret once, and disables it", async ({ page }) => {
  const errors = watchForErrors(page);
  await signIn(page, "/admin");
  await expect(page.locator(".app")).toHaveAttribute("data-hydrated", "true");
  const webhooks = page.locator("#webhooks");
  await webhooks.getByText("Register an endpoint").click();
  // The browser applies the server's rule before posting.
  await page.locator("#webhook-form #field-url").fill("http://partner.example.com/hook");
  await page.locator("#webhook-form #field-description").fill("Acme claims gateway");
  await page.locator("#webhook-form").getByRole("button", { name: "Register" }).click();
  await expect(page.locator("#webhook-form #field-url-error")).toContainText("https://");
  // A public literal address: no DNS, and loopback is refused outside the allow-list.
  const url = `https://93.184.216.34/e2e-${Date.now()}`;
  await page.locator("#webhook-form #field-url").fill(url);
  await page.locator("#webhook-form").getByRole("button", { name: "Register" }).click();
  await expect(page.locator("#webhook-secret code")).toHaveText(/^whsec_[A-Za-z0-9_-]{43}$/);
  const row = page.locator("#webhook-endpoints tr", { hasText: url });
  await expect(row).toContainText("claim.triaged");
  await row.getByRole("button", { name: "Disable" }).click();
  await expect(row).toContainText("Disabled");
  expect(errors).toEqual([]);
});
