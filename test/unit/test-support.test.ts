// The test support's own checks: a scanner that misses a token, a store check that calls an
// empty store valid or a wait that swallows an error would let the suite pass over a defect.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { redact } from "../../core/redact";
import { runEntrypoint, waitFor } from "../support/entrypoint";
import { fakeToken, seedStore, credentialsText, tempRoot } from "../support/fixtures";
import { storeIsValid } from "../support/soak";
import { SLICE_LENGTH, filesWithTokenShapes, findTokens, takeLeaks } from "../support/token-scan";

describe("the token scanner", () => {
  const token = fakeToken("oat", "scan");
  const body = token.slice("sk-ant-oat01-".length);

  it("finds a tracked token, whole", () => {
    expect(findTokens(`here: ${token}.`)).toContain("a token shape");
  });

  it(`finds any ${SLICE_LENGTH} consecutive characters of a tracked token, and a token cut by a line wrap`, () => {
    for (let i = 0; i + SLICE_LENGTH <= body.length; i += 7) {
      expect(findTokens(`…${body.slice(i, i + SLICE_LENGTH)}…`)).toEqual([`${SLICE_LENGTH} characters of a tracked token`]);
    }
    const wrapped = token.match(/.{1,20}/g)!.join("\n");
    expect(findTokens(wrapped).length).toBeGreaterThan(0);
  });

  it("finds it base64-encoded, at any alignment and wrapped as base64 -w 76 does", () => {
    for (const lead of ["", "x", "xy"]) {
      const encoded = Buffer.from(`${lead}{"accessToken":"${token}"}`).toString("base64");
      expect(findTokens(`blob ${encoded} end`)).toEqual(expect.arrayContaining([expect.stringMatching(/base64-encoded$/)]));
      expect(findTokens(encoded.match(/.{1,76}/g)!.join("\n")).some((f) => f.endsWith("base64-encoded"))).toBe(true);
    }
    expect(findTokens(Buffer.from(body.slice(5, 40)).toString("base64url")).some((f) => f.endsWith("base64-encoded"))).toBe(true);
  });

  it("finds it URL-encoded, every character percent-encoded", () => {
    const encoded = [...token].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`).join("");
    expect(findTokens(`refresh_token=${encoded}`)).toEqual(expect.arrayContaining([expect.stringMatching(/URL-encoded$/)]));
  });

  it("finds an untracked token by its shape; says nothing of redacted output or text without tokens", () => {
    expect(findTokens(`sk-ant-ort01-${"Q".repeat(40)}`)).toEqual(["a token shape"]);
    expect(findTokens(redact(`token ${token} and sk-ant-ort01-${"Q".repeat(40)}`))).toEqual([]);
    expect(findTokens("claudeauth: wrote the run's new login back to the store\nsha256 " + "ab".repeat(32))).toEqual([]);
    // The prefix and label alone are not the secret.
    expect(findTokens(`sk-ant-oat01-scan-`)).toEqual([]);
  });

  it("sees the output of processes the spawn helpers start, and says where without the token", async () => {
    const result = await runEntrypoint(["-c", `printf '%s\\n' '${body.slice(3, 3 + SLICE_LENGTH)}' >&2`], { binary: "/bin/sh" });
    expect(result.status).toBe(0);
    const leaks = takeLeaks(); // taken here, so this test does not fail for the leak it made
    expect(leaks).toEqual([{ source: "sh -c", findings: [`${SLICE_LENGTH} characters of a tracked token`] }]);
    expect(JSON.stringify(leaks)).not.toContain(body.slice(3, 3 + SLICE_LENGTH));
  });

  it("finds files holding a token shape under a directory", () => {
    const root = tempRoot();
    fs.mkdirSync(path.join(root, "work"));
    fs.writeFileSync(path.join(root, "work", ".credentials.json"), credentialsText("left"));
    fs.writeFileSync(path.join(root, "clean.txt"), "nothing here\n");
    fs.symlinkSync("/etc/passwd", path.join(root, "link"));
    expect(filesWithTokenShapes(root)).toEqual([path.join(root, "work", ".credentials.json")]);
  });
});

describe("storeIsValid", () => {
  it("is false for a missing store, an empty store and a store without credentials; true with them", async () => {
    const root = tempRoot();
    const store = path.join(root, "store");
    expect(storeIsValid(store)).toBe(false);
    fs.mkdirSync(path.join(store, "captures"), { recursive: true });
    expect(storeIsValid(store)).toBe(false);
    await seedStore(store, { "oauth-token": fakeToken("oat", "long-lived") });
    expect(storeIsValid(store)).toBe(false);
    await seedStore(store, { ".credentials.json": credentialsText("valid") });
    expect(storeIsValid(store)).toBe(true);
  });
});

describe("waitFor", () => {
  it("returns the first truthy value of its check", async () => {
    let calls = 0;
    expect(await waitFor(() => ++calls >= 3 && "done")).toBe("done");
  });

  it("ends with the check's exception instead of waiting it out", async () => {
    const started = Date.now();
    await expect(waitFor(() => JSON.parse("{not json"), 5_000, "a parse")).rejects.toThrow(SyntaxError);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("times out naming what it waited for", async () => {
    await expect(waitFor(() => false, 50, "Godot")).rejects.toThrow("timed out after 50 ms waiting for Godot");
  });
});
