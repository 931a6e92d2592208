// A streamed response: the body is a ReadableStream that produces a report
// line by line as it computes (here: primes, in chunks, yielding between
// them), instead of building the whole text first. Through the HTTP gateway
// the head goes out when the handler returns and the body chunk by chunk as
// `pull` produces it, paced by the client: Kiln stops calling `pull` while
// the function is a window (1 MiB) ahead of what went out to the client, so
// the work happens about as fast as it is read. A client that hangs up
// cancels the invocation.
// Try: curl -N 'http://streaming.default.localhost:8080/?limit=100000'
// (`kiln invoke streaming --path '/?limit=200'` reads the body whole.)

function* primes(limit) {
  const sieve = new Uint8Array(limit + 1);
  for (let n = 2; n <= limit; n++) {
    if (sieve[n]) continue;
    yield n;
    for (let k = n * n; k <= limit; k += n) sieve[k] = 1;
  }
}

/** @type {import("../../sdk/js/kiln").ExportedHandler} */
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const limit = Math.min(Math.max(Number(url.searchParams.get('limit')) || 100, 2), 100000);
    const chunk = 10;
    const encoder = new TextEncoder();
    const found = primes(limit);
    let count = 0;
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(encoder.encode(`primes up to ${limit}\n`));
      },
      async pull(controller) {
        const line = [];
        for (let next = found.next(); !next.done; next = found.next()) {
          line.push(next.value);
          if (line.length === chunk) break;
        }
        if (line.length > 0) {
          count += line.length;
          controller.enqueue(encoder.encode(line.join(' ') + '\n'));
        }
        if (line.length < chunk) {
          controller.enqueue(encoder.encode(`${count} primes\n`));
          controller.close();
        }
        await new Promise((resolve) => setTimeout(resolve, 0));  // let other work run between chunks
      },
    });
    return new Response(body, { headers: { 'content-type': 'text/plain; charset=utf-8' } });
  },
};
