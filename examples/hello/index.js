// The smallest Kiln function: answers every request with a little JSON.
export default {
  async fetch(request, env, ctx) {
    const path = request.url.replace(/^[a-z]+:\/\/[^/]+/, '');
    return Response.json({ hello: env.WHO ?? 'world', method: request.method, path });
  },
};
