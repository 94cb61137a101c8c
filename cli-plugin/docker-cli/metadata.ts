// Docker asks every plugin for this before each call, on `docker --help` and on completion:
// it must answer instantly, so it touches neither Docker nor the disk.
export const VERSION = process.env.CLAUDEAUTH_VERSION ?? "0.0.0-dev";

export const METADATA = {
  SchemaVersion: "0.1.0",
  Vendor: "docker claudeauth",
  Version: VERSION,
  ShortDescription: "Log in to the Claude CLI once, run it in any container",
  URL: "https://github.com/docker-claudeauth/docker-claudeauth",
};
