import fs from "node:fs";
import { acquireLock } from "../../../core/lock";

// A separate process for the lock tests. Modes:
//   contend LOCK LOG N   take the lock N times, logging "enter PID" / "leave PID" inside it
//   hold LOCK [STALE_MS] take the lock (breaking one stale for STALE_MS), print "held", then wait to be killed
const [mode, lockDir, logFile, count] = process.argv.slice(2);

async function main(): Promise<void> {
  if (mode === "hold") {
    await acquireLock(lockDir!, { timeoutMs: 30_000, ...(logFile ? { staleMs: Number(logFile) } : {}) });
    process.stdout.write("held\n");
    setInterval(() => undefined, 1_000);
    return;
  }
  for (let i = 0; i < Number(count); i++) {
    const lock = await acquireLock(lockDir!, { timeoutMs: 30_000, pollMs: 2 });
    fs.appendFileSync(logFile!, `enter ${process.pid}\n`);
    const until = Date.now() + Math.random() * 3;
    while (Date.now() < until); // hold it for a moment, doing "work"
    await new Promise((resolve) => setImmediate(resolve));
    fs.appendFileSync(logFile!, `leave ${process.pid}\n`);
    lock.release();
  }
}

main().catch((error) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
