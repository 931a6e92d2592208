// A scheduled job: kiln.toml declares two cron triggers (UTC). Every 5
// minutes it runs a quick health check; at 03:00 it runs a longer cleanup,
// kept alive past the handler's return with ctx.waitUntil(). The controller
// says which cron fired and when it was due. Logs go to `kiln logs
// scheduled-job`. It also answers HTTP with its schedule.

const EVERY_FIVE_MINUTES = '*/5 * * * *';
const NIGHTLY = '0 3 * * *';

async function cleanup(before) {
  // Stand-in for real work (e.g. deleting expired records elsewhere).
  await new Promise((resolve) => setTimeout(resolve, 10));
  console.log(`cleanup: removed entries older than ${before.toISOString()}`);
}

/** @type {import("../../sdk/js/kiln").ExportedHandler<{ RETENTION_DAYS?: string }>} */
export default {
  async scheduled(controller, env, ctx) {
    const due = new Date(controller.scheduledTime);
    if (controller.cron === NIGHTLY) {
      const days = Number(env.RETENTION_DAYS ?? '30');
      const before = new Date(controller.scheduledTime - days * 24 * 3600 * 1000);
      console.info(`nightly run due ${due.toISOString()}: cleaning up`);
      ctx.waitUntil(cleanup(before));
      return;
    }
    const lag = Date.now() - controller.scheduledTime;
    console.log(`health check (${controller.cron}) due ${due.toISOString()}, ran ${lag} ms later`);
  },

  async fetch() {
    return Response.json({ crons: [EVERY_FIVE_MINUTES, NIGHTLY] });
  },
};
