// The store's event log (core/events.ts): one JSON line an event, no token in any field,
// bounded by rotation, never appended through a link, and read back tolerantly.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { appendEvent, EVENTS_FILE, EVENTS_MAX_BYTES, EVENTS_PREVIOUS_FILE, lastEvent, parseEvents, readEventsText } from "../../core/events";
import { fakeToken, tempRoot } from "../support/fixtures";
import { findTokens, trackSecret } from "../support/token-scan";

describe("appendEvent / parseEvents", () => {
  it("appends one line an event (0600), read back oldest first with the time it was written", () => {
    const root = tempRoot();
    appendEvent(root, { by: "entrypoint", kind: "run-start", container: "c1", image: "claudeauth/run:0.1.0", host: "box", generation: 3 }, undefined, new Date("2026-01-01T00:00:00Z"));
    appendEvent(root, { by: "entrypoint", kind: "run-end", container: "c1", exitCode: 0 });
    const text = fs.readFileSync(path.join(root, EVENTS_FILE), "utf8");
    expect(text.split("\n")).toHaveLength(3);
    expect(fs.statSync(path.join(root, EVENTS_FILE)).mode & 0o777).toBe(0o600);
    const { events, skipped } = parseEvents(readEventsText(root));
    expect(skipped).toBe(0);
    expect(events[0]).toEqual({ time: "2026-01-01T00:00:00.000Z", by: "entrypoint", kind: "run-start", container: "c1", image: "claudeauth/run:0.1.0", host: "box", generation: 3 });
    expect(events[1]).toMatchObject({ kind: "run-end", exitCode: 0 });
    expect(lastEvent(events, "run-start")?.container).toBe("c1");
    expect(lastEvent(events, "refresh")).toBeNull();
  });

  it("no field carries a token: registered ones and anything shaped like one are redacted before the write", () => {
    const root = tempRoot();
    const token = fakeToken("ort", "events");
    trackSecret(token);
    appendEvent(root, { by: "entrypoint", kind: "refused", outcome: "planted-login", detail: `the workload offered ${token} and sk-ant-oat01-${"x".repeat(40)}` });
    const text = readEventsText(root);
    expect(findTokens(text)).toEqual([]);
    expect(parseEvents(text).events[0]!.detail).toContain("[REDACTED]");
  });

  it("keeps between one and two files' worth: a full file becomes events.log.1, the oldest is dropped", () => {
    const root = tempRoot();
    const detail = "x".repeat(200);
    const perFile = Math.ceil(EVENTS_MAX_BYTES / 300);
    for (let i = 0; i < perFile * 3; i++) appendEvent(root, { by: "entrypoint", kind: "run-start", detail, generation: i });
    const sizes = [EVENTS_FILE, EVENTS_PREVIOUS_FILE].map((name) => fs.statSync(path.join(root, name)).size);
    for (const size of sizes) expect(size).toBeLessThan(EVENTS_MAX_BYTES + 400);
    const { events, skipped } = parseEvents(readEventsText(root));
    expect(skipped).toBe(0);
    expect(events.at(-1)!.generation).toBe(perFile * 3 - 1); // the newest is kept
    expect(events[0]!.generation).toBeGreaterThan(0); // the oldest went
    expect(events.map((e) => e.generation)).toEqual([...events.map((e) => e.generation!)].sort((a, b) => a - b));
  });

  it("never appends through a symlink or to a hard-linked file", () => {
    const root = tempRoot();
    const target = path.join(root, "elsewhere");
    fs.writeFileSync(target, "");
    fs.mkdirSync(path.join(root, "a"));
    fs.symlinkSync(target, path.join(root, "a", EVENTS_FILE));
    expect(() => appendEvent(path.join(root, "a"), { by: "plugin", kind: "import" })).toThrow();
    fs.mkdirSync(path.join(root, "b"));
    fs.linkSync(target, path.join(root, "b", EVENTS_FILE));
    expect(() => appendEvent(path.join(root, "b"), { by: "plugin", kind: "import" })).toThrow(/hard links/);
    expect(fs.readFileSync(target, "utf8")).toBe("");
  });

  it("a torn or edited line is counted and left out; unknown fields and kinds are dropped; fields are one short line", () => {
    const good = JSON.stringify({ time: "2026-01-01T00:00:00Z", by: "plugin", kind: "import", detail: `a\nb${"y".repeat(1000)}`, extra: "dropped" });
    const { events, skipped } = parseEvents([good, '{"time":"2026-01-01T00:00:00Z","by":"plugin","kind":"format-disk"}', '{"time":"2026', "not json", ""].join("\n"));
    expect(skipped).toBe(3);
    expect(events).toHaveLength(1);
    expect(events[0]).not.toHaveProperty("extra");
    expect(events[0]!.detail).toMatch(/^a b/);
    expect(events[0]!.detail!.length).toBeLessThanOrEqual(240);
  });
});
