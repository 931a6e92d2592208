// Compile-time checks of kiln.d.ts (`npx -p typescript@5 tsc -p sdk/js`): what
// must type-check does, and each `@ts-expect-error` marks code that must not.
import type {
  ExecutionContext,
  ExportedHandler,
  Message,
  MessageBatch,
  ScheduledController,
} from "./kiln";

interface Env {
  GREETING: string;
}

export const handler = {
  async fetch(request, env, ctx) {
    ctx.waitUntil(Promise.resolve(1));
    ctx.passThroughOnException();
    return new Response(`${env.GREETING} ${new URL(request.url).pathname}`);
  },
  async queue(batch, env, ctx) {
    const queue: string = batch.queue;
    for (const message of batch.messages) {
      const n: number = message.body.n;
      const when: Date = message.timestamp;
      const tries: number = message.attempts;
      const id: string = message.id;
      if (n > 0) message.ack();
      else message.retry({ delaySeconds: 30 });
      message.retry();
    }
    batch.ackAll();
    batch.retryAll({ delaySeconds: 5 });
    batch.retryAll();
  },
  scheduled(controller, env, ctx) {
    const time: number = controller.scheduledTime;
    const cron: string = controller.cron;
    const type: "scheduled" = controller.type;
    controller.noRetry();
  },
} satisfies ExportedHandler<Env, { n: number }>;

// A handler object may hold only some handlers, and helpers of its own.
export const fetchOnly: ExportedHandler = {
  fetch: () => new Response("hi"),
};

export function standalone(
  batch: MessageBatch<string>,
  controller: ScheduledController,
  ctx: ExecutionContext,
): string {
  return batch.messages.map((m: Message<string>) => m.body).join() + controller.cron;
}

// @ts-expect-error fetch must return a Response
export const notAResponse: ExportedHandler = { fetch: () => "hi" };

export const envIsStrings: ExportedHandler = {
  fetch: (request, env) => {
    // @ts-expect-error env values are strings
    const port: number = env.PORT;
    return new Response(String(port));
  },
};

export function readonlyMessage(message: Message<string>) {
  // @ts-expect-error messages are read-only
  message.body = "changed";
}

// @ts-expect-error retry takes delaySeconds, not delay
export const wrongRetry = (m: Message) => m.retry({ delay: 5 });
