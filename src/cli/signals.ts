/** Resolves on the first SIGINT or SIGTERM (a second one exits at once). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let seen = false;
    const onSignal = (sig: NodeJS.Signals) => {
      if (seen) process.exit(130);
      seen = true;
      resolve(sig);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/**
 * After a clean stop the process should end by itself; if a library timer still holds the event
 * loop, end it anyway, shortly (unref'd: it never delays a process that is already ending).
 */
export function exitSoon(code: number, graceMs = 2_000): void {
  setTimeout(() => process.exit(code), graceMs).unref();
}
