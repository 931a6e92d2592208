// The handler of //ops/bench:api_bench, run unchanged by Kiln and workerd.
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const name = url.searchParams.get('name') ?? 'world';
    const body = JSON.stringify({ hello: name, path: url.pathname, n: url.searchParams.getAll('n').length });
    return new Response(body, { headers: { 'content-type': 'application/json', 'x-kiln': 'bench' } });
  },
};
