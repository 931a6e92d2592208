// The Node.js peer of //ops/bench:http_bench: a plain `http` server answering
// what examples/hello answers (the same JSON), on the port in argv[2].
import http from 'node:http';

const port = Number(process.argv[2]);
http.createServer((req, res) => {
  const body = JSON.stringify({ hello: 'world', method: req.method, path: req.url });
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(body);
}).listen(port, '127.0.0.1');
