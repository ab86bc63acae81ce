import assert from "node:assert/strict";
import { createHmac, randomUUID } from "node:crypto";
import { test } from "node:test";

import { TinyBaseError } from "../dist/index.js";
import { mailedToken, newClient } from "./helpers.mjs";

/** The RFC 6238 code (SHA-1, 6 digits, 30 s) of base32 `secret` for `step` steps from now. */
function totp(secret, step = 0) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of secret.replace(/=+$/, "")) bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000) + step));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

async function registered() {
  const email = `acct-${randomUUID()}@example.com`;
  const client = newClient();
  await client.auth.register({ email, password: "first password" });
  return { client, email };
}

test("TOTP: set up, then login asks for a code and verifyMfa signs in; recovery codes work once", async () => {
  const { client, email } = await registered();
  const { secret, otpauth_url } = await client.auth.setupTotp();
  assert.match(otpauth_url, /^otpauth:\/\/totp\//);
  await client.auth.confirmTotp(totp(secret));
  const codes = await client.auth.recoveryCodes();
  assert.equal(codes.length, 10);

  const other = newClient();
  const refused = await other.auth.login({ email, password: "first password" }).catch((e) => e);
  assert.ok(refused instanceof TinyBaseError);
  assert.equal(refused.code, "mfa_required");
  assert.equal(other.auth.isSignedIn, false);
  const wrong = await other.auth.verifyMfa(refused.details.mfa_token, "000000").catch((e) => e);
  assert.ok(wrong instanceof TinyBaseError);
  // The code that confirmed set-up is spent: the next step's code (within the skew) signs in.
  const session = await other.auth.verifyMfa(refused.details.mfa_token, totp(secret, 1));
  assert.equal(session.user.email, email);
  assert.equal((await other.auth.me()).email, email);

  const third = newClient();
  const again = await third.auth.login({ email, password: "first password" }).catch((e) => e);
  await third.auth.verifyMfa(again.details.mfa_token, codes[0]);
  assert.equal(third.auth.isSignedIn, true);
  const reused = newClient();
  const once = await reused.auth.login({ email, password: "first password" }).catch((e) => e);
  const spent = await reused.auth.verifyMfa(once.details.mfa_token, codes[0]).catch((e) => e);
  assert.ok(spent instanceof TinyBaseError, "a recovery code works once");

  // Off again: a wrong code is refused, a recovery code turns it off, the password signs in.
  const badCode = await client.auth.disableTotp("000000").catch((e) => e);
  assert.ok(badCode instanceof TinyBaseError);
  assert.equal(badCode.status, 422);
  await client.auth.disableTotp(codes[1]);
  const plain = newClient();
  await plain.auth.login({ email, password: "first password" });
  assert.equal(plain.auth.isSignedIn, true);
});

test("password reset by mail ends the old session; the new password signs in", async () => {
  const { client, email } = await registered();
  const reasons = [];
  client.auth.onChange((_, reason) => reasons.push(reason));
  const anonymous = newClient();
  await anonymous.auth.requestPasswordReset(email);
  await anonymous.auth.requestPasswordReset(`nobody-${randomUUID()}@example.com`); // same answer
  const token = await mailedToken(email, /Reset your/);
  const bad = await anonymous.auth.confirmPasswordReset(token, "short").catch((e) => e);
  assert.equal(bad.status, 422, "a refused new password leaves the token usable");
  await anonymous.auth.confirmPasswordReset(token, "second password");

  const expired = await client.auth.me().catch((e) => e);
  assert.equal(expired.status, 401);
  assert.equal(client.auth.isSignedIn, false);
  assert.deepEqual(reasons, ["expired"]);
  const used = await anonymous.auth.confirmPasswordReset(token, "third password").catch((e) => e);
  assert.equal(used.code, "invalid_token");
  await client.auth.login({ email, password: "second password" });
  assert.equal(client.auth.user.email, email);
});

test("email verification and email change by mail", async () => {
  const { client, email } = await registered();
  assert.equal(client.auth.user.email_verified, false);
  await client.auth.requestVerification(email);
  const verified = await client.auth.confirmVerification(await mailedToken(email, /Verify your/));
  assert.equal(verified.email_verified, true);

  const newEmail = `moved-${randomUUID()}@example.com`;
  await client.auth.requestEmailChange(newEmail);
  const moved = await client.auth.confirmEmailChange(await mailedToken(newEmail, /Confirm your new/));
  assert.equal(moved.email, newEmail);
  assert.equal(client.auth.user.email, newEmail, "the session's user follows");
  await newClient().auth.login({ email: newEmail, password: "first password" });
});

test("OAuth2: the provider list and the start URL", async () => {
  const client = newClient();
  assert.deepEqual(await client.auth.oauth2Providers(), []);
  const url = new URL(client.auth.oauth2StartUrl("corp", "https://app.example.com/done"));
  assert.equal(url.pathname, "/api/auth/oauth2/corp/start");
  assert.equal(url.searchParams.get("redirect_to"), "https://app.example.com/done");
  const exchange = await client.auth.exchangeOAuth2Code("not-a-code").catch((e) => e);
  assert.ok(exchange instanceof TinyBaseError);
  assert.equal(exchange.status, 401, "an unknown exchange code signs no one in");
  assert.equal(client.auth.isSignedIn, false);
});
