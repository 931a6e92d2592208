// A small JSON API: a to-do list routed on method and path by a tiny router,
// with JSON request and response bodies, 400 for bad input, and a JSON 404
// (or 405) for anything it does not know. The list lives in this isolate's
// memory, so it resets whenever a fresh isolate boots; a real API would keep it
// elsewhere. Try: kiln invoke json-api --path /todos -d '{"title":"write docs"}'

// Routes as [method, pattern, handler]; ":name" segments become params.
function router(routes) {
  const compiled = routes.map(([method, pattern, handler]) => {
    const names = [];
    const source = pattern.replace(/:([a-z]+)/g, (_, name) => {
      names.push(name);
      return '([^/]+)';
    });
    return { method, regex: new RegExp(`^${source}/?$`), names, handler };
  });
  return async (request, env) => {
    const { pathname } = new URL(request.url);
    const matches = compiled.filter((route) => route.regex.test(pathname));
    if (matches.length === 0) return json({ error: 'not found', path: pathname }, 404);
    const route = matches.find((r) => r.method === request.method);
    if (!route) {
      const allow = matches.map((r) => r.method).join(', ');
      return json({ error: 'method not allowed', allow }, 405, { allow });
    }
    const values = route.regex.exec(pathname).slice(1).map(decodeURIComponent);
    const params = Object.fromEntries(route.names.map((name, i) => [name, values[i]]));
    return route.handler({ request, env, params });
  };
}

function json(data, status = 200, headers = {}) {
  return Response.json(data, { status, headers });
}

async function readJson(request) {
  try {
    return await request.json();
  } catch {
    return undefined;
  }
}

const todos = new Map();
let nextId = 1;

const handle = router([
  ['GET', '/', ({ env }) => json({ name: env.API_NAME ?? 'todos', endpoints: ['/todos', '/todos/:id'] })],
  ['GET', '/todos', () => json([...todos.values()])],
  ['POST', '/todos', async ({ request }) => {
    const body = await readJson(request);
    if (typeof body?.title !== 'string' || body.title === '') {
      return json({ error: 'send {"title": "..."}' }, 400);
    }
    const todo = { id: String(nextId++), title: body.title, done: false };
    todos.set(todo.id, todo);
    return json(todo, 201, { location: `/todos/${todo.id}` });
  }],
  ['GET', '/todos/:id', ({ params }) =>
    todos.has(params.id) ? json(todos.get(params.id)) : json({ error: 'no such todo', id: params.id }, 404)],
  ['PATCH', '/todos/:id', async ({ request, params }) => {
    const todo = todos.get(params.id);
    if (!todo) return json({ error: 'no such todo', id: params.id }, 404);
    const body = await readJson(request);
    if (body === undefined || typeof body !== 'object') return json({ error: 'send a JSON object' }, 400);
    if (typeof body.title === 'string') todo.title = body.title;
    if (typeof body.done === 'boolean') todo.done = body.done;
    return json(todo);
  }],
  ['DELETE', '/todos/:id', ({ params }) =>
    todos.delete(params.id) ? new Response(null, { status: 204 }) : json({ error: 'no such todo', id: params.id }, 404)],
]);

/** @type {import("../../sdk/js/kiln").ExportedHandler<{ API_NAME?: string }>} */
export default {
  async fetch(request, env) {
    return handle(request, env);
  },
};
