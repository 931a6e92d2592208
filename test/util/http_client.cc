// The test HTTP/1.1 client (http_client.h).
#include "test/util/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace kiln::test {
namespace {

// Closes a socket when it goes out of scope.
struct Socket {
  int fd = -1;
  ~Socket() {
    if (fd >= 0) close(fd);
  }
};

absl::Status SocketError(absl::string_view what, const std::string& address) {
  return absl::UnavailableError(absl::StrCat(what, " ", address, ": ", std::strerror(errno)));
}

// Decodes a chunked body; DataLoss when it is malformed or cut short.
absl::StatusOr<std::string> Dechunk(absl::string_view raw) {
  std::string body;
  while (true) {
    size_t line_end = raw.find("\r\n");
    if (line_end == absl::string_view::npos)
      return absl::DataLossError("chunk size line cut short");
    absl::string_view size_text = raw.substr(0, line_end);
    size_text = size_text.substr(0, size_text.find(';'));  // chunk extensions
    uint64_t size = 0;
    if (!absl::SimpleHexAtoi(absl::StripAsciiWhitespace(size_text), &size)) {
      return absl::DataLossError(absl::StrCat("bad chunk size \"", size_text, "\""));
    }
    raw.remove_prefix(line_end + 2);
    if (size == 0) return body;  // trailers, if any, are ignored
    if (raw.size() < size + 2) return absl::DataLossError("chunk cut short");
    body.append(raw.data(), size);
    raw.remove_prefix(size + 2);
  }
}

}  // namespace

std::string HttpResponse::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return "";
}

absl::StatusOr<HttpResponse> HttpFetch(const std::string& address, const HttpRequest& request) {
  const size_t colon = address.rfind(':');
  int port = 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("not IPv4 HOST:PORT: ", address));
  }
  addr.sin_port = htons(static_cast<uint16_t>(port));
  Socket socket_fd{socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (socket_fd.fd < 0) return SocketError("socket for", address);
  const timeval timeout = absl::ToTimeval(request.timeout);
  setsockopt(socket_fd.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(socket_fd.fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  if (connect(socket_fd.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return SocketError("connect to", address);
  }

  std::string wire = absl::StrCat(request.method, " ", request.path,
                                  " HTTP/1.1\r\nHost: ", request.host, "\r\nConnection: close\r\n");
  for (const auto& [name, value] : request.headers)
    absl::StrAppend(&wire, name, ": ", value, "\r\n");
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    absl::StrAppend(&wire, "Content-Length: ", request.body.size(), "\r\n");
  }
  absl::StrAppend(&wire, "\r\n", request.body);
  for (size_t sent = 0; sent < wire.size();) {
    ssize_t n = send(socket_fd.fd, wire.data() + sent, wire.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return SocketError("send to", address);
    sent += static_cast<size_t>(n);
  }

  std::string raw;
  char buffer[16384];
  while (true) {
    ssize_t n = recv(socket_fd.fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SocketError("receive from", address);
    if (n == 0) break;
    raw.append(buffer, static_cast<size_t>(n));
  }

  const size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || raw.rfind("HTTP/1.", 0) != 0) {
    return absl::DataLossError(absl::StrCat("not an HTTP/1.x response from ", address, ": \"",
                                            absl::CEscape(raw.substr(0, 200)), "\""));
  }
  std::vector<absl::string_view> lines =
      absl::StrSplit(absl::string_view(raw).substr(0, head_end), "\r\n");
  HttpResponse response;
  std::vector<absl::string_view> status_line = absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
  if (status_line.size() < 2 || !absl::SimpleAtoi(status_line[1], &response.status)) {
    return absl::DataLossError(absl::StrCat("bad status line \"", lines[0], "\""));
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t separator = lines[i].find(':');
    if (separator == absl::string_view::npos) continue;
    response.headers.emplace_back(
        absl::AsciiStrToLower(lines[i].substr(0, separator)),
        std::string(absl::StripAsciiWhitespace(lines[i].substr(separator + 1))));
  }
  absl::string_view body = absl::string_view(raw).substr(head_end + 4);
  if (absl::AsciiStrToLower(response.Header("transfer-encoding")) == "chunked") {
    absl::StatusOr<std::string> decoded = Dechunk(body);
    if (!decoded.ok()) return decoded.status();
    response.body = *std::move(decoded);
  } else if (uint64_t length = 0; absl::SimpleAtoi(response.Header("content-length"), &length)) {
    if (body.size() < length) {
      return absl::DataLossError(absl::StrCat("body cut short: ", body.size(), " of ", length));
    }
    response.body = std::string(body.substr(0, length));
  } else {
    response.body = std::string(body);
  }
  return response;
}

}  // namespace kiln::test
