import fs from "node:fs";

// Notices the CLI writing its credentials. Stat polling (fs.watchFile) rather than inotify:
// it works for files and directories that do not exist yet, and the CLI replaces the file
// by rename, which an inotify watch on the old inode would miss.
const POLL_MS = 250;

export function watchFiles(files: string[], onChange: () => void): { stop(): void } {
  const listener = (current: fs.Stats, previous: fs.Stats) => {
    if (current.mtimeMs !== previous.mtimeMs || current.ino !== previous.ino || current.size !== previous.size) onChange();
  };
  for (const file of files) fs.watchFile(file, { interval: POLL_MS, persistent: false }, listener);
  return { stop: () => files.forEach((file) => fs.unwatchFile(file, listener)) };
}

/** Runs async jobs one at a time, in order; `idle()` waits for all queued ones. */
export function serialQueue() {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    push<T>(job: () => Promise<T>): Promise<T> {
      const run = tail.then(job, job);
      tail = run.catch(() => undefined);
      return run;
    },
    idle(): Promise<unknown> {
      return tail;
    },
  };
}
