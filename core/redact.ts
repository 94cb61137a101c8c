// The one redaction path: every line either binary prints passes through redact().
// Known secret values are replaced exactly; anything shaped like an Anthropic token is
// replaced even if it was never registered (a token we did not know we had).

const TOKEN_SHAPE = /sk-ant-[a-z]{2,5}\d{0,3}-[A-Za-z0-9_\-]{8,}/g;
const MIN_SECRET_LENGTH = 8;
const registered = new Set<string>();

export function registerSecret(value: string | null | undefined): void {
  if (value && value.length >= MIN_SECRET_LENGTH) registered.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const secret of registered) out = out.split(secret).join("[REDACTED]");
  return out.replace(TOKEN_SHAPE, (m) => `${m.slice(0, m.indexOf("-", 7) + 1)}[REDACTED]`);
}

export function containsTokenShape(text: string): boolean {
  TOKEN_SHAPE.lastIndex = 0;
  return TOKEN_SHAPE.test(text) || [...registered].some((s) => text.includes(s));
}
