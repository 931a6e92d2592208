// TypeScript definitions for Kiln functions: the handlers a function's main
// module exports and the objects the Kiln runtime passes them. Accurate to
// worker/api/js/90_dispatch.js; the Web APIs (Request, Response, Headers,
// URL, ReadableStream, crypto, ...) are the standard ones, so compile with
// `"lib": ["es2022", "webworker"]` (or "dom") for their types.
//
//   import type { ExportedHandler } from "./kiln";
//   interface Env { GREETING: string }
//   export default {
//     async fetch(request, env, ctx) {
//       return new Response(`${env.GREETING}, ${new URL(request.url).pathname}`);
//     },
//   } satisfies ExportedHandler<Env>;
//
// From JavaScript: `/** @type {import("./kiln").ExportedHandler<Env>} */`.

/**
 * The bindings a function sees as `env`: its kiln.toml `[vars]` and the
 * tenant secrets named in `secrets`, all strings. Set once per isolate, frozen.
 */
export type KilnEnv = Readonly<Record<string, string>>;

/**
 * The third argument of every handler. One per invocation.
 */
export interface ExecutionContext {
  /**
   * Keeps the invocation alive after the handler returned (and the response
   * was sent) until `promise` settles, within the function's `wait_until_ms`
   * budget (default 30 s). A rejection is reported as an uncaught error in
   * the logs; it does not change the response. Throws if called after the
   * invocation ended.
   */
  waitUntil(promise: Promise<unknown>): void;
  /**
   * Accepted for Cloudflare Workers compatibility; does nothing in Kiln,
   * where there is no origin to fall through to. An exception still fails the
   * invocation.
   */
  passThroughOnException(): void;
}

/** Options of `Message.retry()` and `MessageBatch.retryAll()`. */
export interface QueueRetryOptions {
  /**
   * Seconds before the message is delivered again; floored, negative or
   * non-numeric values count as 0.
   */
  delaySeconds?: number;
}

/**
 * One queue message. Frozen. Its body is decoded by how it was published:
 * JSON messages as the parsed value, byte messages as a `Uint8Array`, text
 * messages as a string.
 */
export interface Message<Body = unknown> {
  /** Unique per message; the same on every delivery. */
  readonly id: string;
  /** When the message was published. */
  readonly timestamp: Date;
  readonly body: Body;
  /** Deliveries so far, this one included (1 on the first). */
  readonly attempts: number;
  /** Marks the message done: it is deleted once the ack is durable. Wins over ackAll/retryAll. */
  ack(): void;
  /**
   * Delivers the message again later; after the consumer's `max_retries` it
   * goes to the dead-letter queue. Wins over ackAll/retryAll.
   */
  retry(options?: QueueRetryOptions): void;
}

/**
 * The messages of one delivery to a `queue` handler. For each message: its
 * own ack()/retry() decides; else ackAll()/retryAll(); else it is acked if the
 * handler returned normally and retried if it threw (as on Cloudflare Queues).
 */
export interface MessageBatch<Body = unknown> {
  /** The queue the messages came from (a kiln.toml `[[queues.consumers]]` queue). */
  readonly queue: string;
  readonly messages: readonly Message<Body>[];
  /** Acks every message that has no ack()/retry() of its own. */
  ackAll(): void;
  /** Retries every message that has no ack()/retry() of its own. */
  retryAll(options?: QueueRetryOptions): void;
}

/**
 * The first argument of a `scheduled` handler: which cron trigger fired, and
 * when. Frozen.
 */
export interface ScheduledController {
  readonly type: "scheduled";
  /** The kiln.toml `[[triggers.crons]]` expression that fired, e.g. "0 3 * * *". */
  readonly cron: string;
  /** The time the run was scheduled for, in milliseconds since the Unix epoch. */
  readonly scheduledTime: number;
  /** Accepted for Cloudflare Workers compatibility; does nothing in Kiln. */
  noRetry(): void;
}

/** Alias kept for code written against older Workers types. */
export type ScheduledEvent = ScheduledController;

/**
 * Answers an HTTP request. Must resolve to a `Response` (not `Response.error()`);
 * anything else fails the invocation with a TypeError. A `ReadableStream`
 * body of byte chunks is sent to an HTTP client as it is produced, paced by
 * the client (`kiln invoke` reads it whole first).
 */
export type ExportedHandlerFetchHandler<Env = KilnEnv> = (
  request: Request,
  env: Env,
  ctx: ExecutionContext,
) => Response | Promise<Response>;

/** Consumes a batch of queue messages. A throw retries the undecided messages. */
export type ExportedHandlerQueueHandler<Env = KilnEnv, Body = unknown> = (
  batch: MessageBatch<Body>,
  env: Env,
  ctx: ExecutionContext,
) => void | Promise<void>;

/** Runs on a cron trigger. A throw fails that run (it is logged). */
export type ExportedHandlerScheduledHandler<Env = KilnEnv> = (
  controller: ScheduledController,
  env: Env,
  ctx: ExecutionContext,
) => void | Promise<void>;

/**
 * What the main module must `export default`: an object with at least one of
 * these handlers (the deploy fails otherwise). Handlers are called with the
 * object as `this`. An event the object has no handler for fails with
 * "exports no <name>() handler".
 */
export interface ExportedHandler<Env = KilnEnv, QueueBody = unknown> {
  fetch?: ExportedHandlerFetchHandler<Env>;
  queue?: ExportedHandlerQueueHandler<Env, QueueBody>;
  scheduled?: ExportedHandlerScheduledHandler<Env>;
}
