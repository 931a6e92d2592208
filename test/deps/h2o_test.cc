// Proves h2o (Debian's libuv build) is linked and serves HTTP: an h2o server on
// a loopback port chosen by the kernel answers one HTTP/1.1 request made over a
// plain socket from another thread.
#include <arpa/inet.h>
#include <h2o.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace {

h2o_accept_ctx_t accept_ctx;

int Hello(h2o_handler_t*, h2o_req_t* req) {
  req->res.status = 200;
  req->res.reason = "OK";
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, nullptr,
                 H2O_STRLIT("application/json"));
  h2o_send_inline(req, H2O_STRLIT("{\"hello\":\"kiln\"}"));
  return 0;
}

void OnAccept(uv_stream_t* listener, int status) {
  if (status != 0) return;
  auto* conn = static_cast<uv_tcp_t*>(h2o_mem_alloc(sizeof(uv_tcp_t)));
  uv_tcp_init(listener->loop, conn);
  if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(conn)) != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(conn), reinterpret_cast<uv_close_cb>(free));
    return;
  }
  h2o_socket_t* sock =
      h2o_uv_socket_create(reinterpret_cast<uv_stream_t*>(conn), reinterpret_cast<uv_close_cb>(free));
  h2o_accept(&accept_ctx, sock);
}

std::string Fetch(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return "connect failed";
  const std::string request = "GET / HTTP/1.1\r\nHost: hello.default.localhost\r\nConnection: close\r\n\r\n";
  write(fd, request.data(), request.size());
  std::string response;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) response.append(buf, n);
  close(fd);
  return response;
}

TEST(H2oTest, AnswersOneRequestOnLoopback) {
  h2o_globalconf_t config;
  h2o_config_init(&config);
  h2o_hostconf_t* host = h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
  h2o_pathconf_t* path = h2o_config_register_path(host, "/", 0);
  h2o_handler_t* handler = h2o_create_handler(path, sizeof(h2o_handler_t));
  handler->on_req = Hello;

  uv_loop_t loop;
  uv_loop_init(&loop);
  h2o_context_t ctx;
  h2o_context_init(&ctx, &loop, &config);
  accept_ctx.ctx = &ctx;
  accept_ctx.hosts = config.hosts;

  uv_tcp_t listener;
  uv_tcp_init(&loop, &listener);
  sockaddr_in addr{};
  uv_ip4_addr("127.0.0.1", 0, &addr);
  ASSERT_EQ(uv_tcp_bind(&listener, reinterpret_cast<sockaddr*>(&addr), 0), 0);
  ASSERT_EQ(uv_listen(reinterpret_cast<uv_stream_t*>(&listener), 16, OnAccept), 0);
  sockaddr_in bound{};
  int len = sizeof(bound);
  uv_tcp_getsockname(&listener, reinterpret_cast<sockaddr*>(&bound), &len);
  const int port = ntohs(bound.sin_port);

  std::string response;
  uv_async_t done;
  uv_async_init(&loop, &done, [](uv_async_t* a) { uv_stop(a->loop); });
  std::thread client([&] {
    response = Fetch(port);
    uv_async_send(&done);
  });
  uv_run(&loop, UV_RUN_DEFAULT);
  client.join();

  EXPECT_NE(response.find("HTTP/1.1 200 OK"), std::string::npos) << response;
  EXPECT_NE(response.find("content-type: application/json"), std::string::npos) << response;
  EXPECT_NE(response.find("{\"hello\":\"kiln\"}"), std::string::npos) << response;
}

}  // namespace
