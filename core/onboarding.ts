import type { ClaudeJson } from "./credentials";

// The CLI shows onboarding and a trust dialog unless ~/.claude.json says they are done.
// A production run needs neither: mark onboarding complete and trust the working dir,
// keeping everything else the capture had.
export function withOnboardingDone(existing: ClaudeJson | null, trustedDir: string): ClaudeJson {
  const base: Record<string, unknown> = { ...(existing ?? {}) };
  const projects = { ...((base.projects as Record<string, Record<string, unknown>> | undefined) ?? {}) };
  projects[trustedDir] = { ...(projects[trustedDir] ?? {}), hasTrustDialogAccepted: true, hasCompletedProjectOnboarding: true };
  return {
    ...base,
    hasCompletedOnboarding: true,
    lastOnboardingVersion: (base.lastOnboardingVersion as string | undefined) ?? "1.0.0",
    projects,
  } as ClaudeJson;
}
