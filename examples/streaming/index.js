// A streamed response: the body is a ReadableStream that produces a report
// line by line as it computes (here: primes, in chunks, yielding between
// them), instead of building the whole text first. `pull` is called whenever
// the consumer wants more, so the work happens only as fast as it is read:
// through the HTTP gateway each chunk goes out as it is produced, paced by
// the client (`curl -N` shows them arrive); `kiln invoke` reads it whole.
// Try: kiln invoke streaming --path '/?limit=200'

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
