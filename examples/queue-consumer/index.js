// A queue consumer: kiln.toml subscribes it to the "orders" queue. Each
// message is handled on its own: a valid order is acked; one whose payment
// service said "try later" is retried after a delay that grows with its
// attempts; a malformed one is acked and logged (retrying would not fix it),
// and after max_retries a message goes to the "orders-failed" dead-letter
// queue. A message left without ack()/retry() is acked if the handler returns
// normally and retried if it throws. It also answers HTTP with a short note.

function validate(order) {
  return typeof order === 'object' && order !== null && typeof order.id === 'string' &&
      Number.isFinite(order.amount) && order.amount > 0;
}

/** @type {import("../../sdk/js/kiln").ExportedHandler<Record<string, string>, any>} */
export default {
  async queue(batch, env, ctx) {
    let accepted = 0;
    for (const message of batch.messages) {
      const order = message.body;
      if (!validate(order)) {
        console.warn(`dropping malformed message ${message.id} from ${batch.queue}`);
        message.ack();
        continue;
      }
      if (order.paymentPending) {
        const delaySeconds = Math.min(60 * 2 ** (message.attempts - 1), 3600);
        console.log(`order ${order.id}: payment pending, retry in ${delaySeconds}s (attempt ${message.attempts})`);
        message.retry({ delaySeconds });
        continue;
      }
      console.log(`order ${order.id}: ${order.amount} accepted`);
      accepted++;
      message.ack();
    }
    console.info(`${batch.queue}: ${accepted}/${batch.messages.length} accepted`);
  },

  async fetch() {
    return new Response('This function consumes the "orders" queue; publish messages to it.\n');
  },
};
