// The test HTTP/1.1 client (http_client.h).
#include "test/util/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace kiln::test {
namespace {

absl::Status SocketError(absl::string_view what, const std::string& address) {
  const bool timed_out = errno == EAGAIN || errno == EWOULDBLOCK;
  return absl::UnavailableError(
      absl::StrCat(what, " ", address, ": ", timed_out ? "timed out" : std::strerror(errno)));
}

}  // namespace

std::string HttpResponse::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return "";
}

absl::StatusOr<std::unique_ptr<HttpStream>> HttpStream::Send(const std::string& address,
                                                             const HttpRequest& request) {
  const size_t colon = address.rfind(':');
  int port = 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("not IPv4 HOST:PORT: ", address));
  }
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return SocketError("socket for", address);
  std::unique_ptr<HttpStream> stream(new HttpStream(fd, address, request.timeout));
  stream->head_request_ = request.method == "HEAD";
  const timeval timeout = absl::ToTimeval(request.timeout);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
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
    ssize_t n = send(fd, wire.data() + sent, wire.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return SocketError("send to", address);
    sent += static_cast<size_t>(n);
  }
  return stream;
}

HttpStream::~HttpStream() { Close(); }

void HttpStream::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

absl::StatusOr<bool> HttpStream::Fill() {
  if (fd_ < 0) return absl::FailedPreconditionError("the connection was closed");
  if (pos_ == in_.size()) {
    in_.clear();
    pos_ = 0;
  } else if (pos_ >= (64 << 10)) {
    in_.erase(0, pos_);
    pos_ = 0;
  }
  char buffer[64 << 10];
  while (true) {
    ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SocketError("receive from", address_);
    if (n == 0) return false;
    in_.append(buffer, static_cast<size_t>(n));
    return true;
  }
}

bool HttpStream::TakeLine(std::string* line) {
  const size_t end = in_.find("\r\n", pos_);
  if (end == std::string::npos) return false;
  line->assign(in_, pos_, end - pos_);
  pos_ = end + 2;
  return true;
}

absl::Status HttpStream::ReadHead() {
  size_t head_end;
  while ((head_end = in_.find("\r\n\r\n", pos_)) == std::string::npos) {
    absl::StatusOr<bool> more = Fill();
    if (!more.ok()) return more.status();
    if (!*more) break;
  }
  if (head_end == std::string::npos || in_.compare(pos_, 7, "HTTP/1.") != 0) {
    return absl::DataLossError(absl::StrCat("not an HTTP/1.x response from ", address_, ": \"",
                                            absl::CEscape(in_.substr(pos_, 200)), "\""));
  }
  std::vector<absl::string_view> lines =
      absl::StrSplit(absl::string_view(in_).substr(pos_, head_end - pos_), "\r\n");
  std::vector<absl::string_view> status_line = absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
  if (status_line.size() < 2 || !absl::SimpleAtoi(status_line[1], &head_.status)) {
    return absl::DataLossError(absl::StrCat("bad status line \"", lines[0], "\""));
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t separator = lines[i].find(':');
    if (separator == absl::string_view::npos) continue;
    head_.headers.emplace_back(
        absl::AsciiStrToLower(lines[i].substr(0, separator)),
        std::string(absl::StripAsciiWhitespace(lines[i].substr(separator + 1))));
  }
  pos_ = head_end + 4;

  chunked_ = absl::EqualsIgnoreCase(head_.Header("transfer-encoding"), "chunked");
  if (head_request_ || head_.status / 100 == 1 || head_.status == 204 || head_.status == 304) {
    framing_ = Framing::kNone;
  } else if (chunked_) {
    framing_ = Framing::kChunked;
  } else if (absl::SimpleAtoi(head_.Header("content-length"), &remaining_)) {
    framing_ = Framing::kLength;
  } else {
    framing_ = Framing::kUntilClose;
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> HttpStream::Read(std::string* out) {
  // Waits for bytes to consume: false (with `status`) at EOF.
  auto await_bytes = [this](size_t want) -> absl::StatusOr<bool> {
    while (in_.size() - pos_ < want) {
      absl::StatusOr<bool> more = Fill();
      if (!more.ok() || !*more) return more;
    }
    return true;
  };
  const absl::Status cut_short =
      absl::DataLossError(absl::StrCat("the response body from ", address_, " was cut short"));
  switch (framing_) {
    case Framing::kNone:
      return false;
    case Framing::kUntilClose: {
      absl::StatusOr<bool> more = await_bytes(1);
      if (!more.ok() || !*more) return more;
      out->append(in_, pos_, std::string::npos);
      pos_ = in_.size();
      return true;
    }
    case Framing::kLength: {
      if (remaining_ == 0) return false;
      absl::StatusOr<bool> more = await_bytes(1);
      if (!more.ok()) return more.status();
      if (!*more) return cut_short;
      const size_t n = std::min<uint64_t>(remaining_, in_.size() - pos_);
      out->append(in_, pos_, n);
      pos_ += n;
      remaining_ -= n;
      return true;
    }
    case Framing::kChunked:
      break;
  }
  std::string line;
  while (true) {
    switch (chunk_state_) {
      case ChunkState::kSize: {
        while (!TakeLine(&line)) {
          absl::StatusOr<bool> more = Fill();
          if (!more.ok()) return more.status();
          if (!*more) return cut_short;
        }
        absl::string_view size_text = absl::string_view(line).substr(0, line.find(';'));
        if (!absl::SimpleHexAtoi(absl::StripAsciiWhitespace(size_text), &remaining_)) {
          return absl::DataLossError(absl::StrCat("bad chunk size \"", absl::CEscape(line), "\""));
        }
        if (remaining_ == 0) {
          // The terminating chunk; then trailers (ignored) up to an empty line.
          do {
            while (!TakeLine(&line)) {
              absl::StatusOr<bool> more = Fill();
              if (!more.ok()) return more.status();
              if (!*more) return cut_short;
            }
          } while (!line.empty());
          chunk_state_ = ChunkState::kDone;
          return false;
        }
        chunk_state_ = ChunkState::kData;
        break;
      }
      case ChunkState::kData: {
        absl::StatusOr<bool> more = await_bytes(1);
        if (!more.ok()) return more.status();
        if (!*more) return cut_short;
        const size_t n = std::min<uint64_t>(remaining_, in_.size() - pos_);
        out->append(in_, pos_, n);
        pos_ += n;
        remaining_ -= n;
        if (remaining_ == 0) chunk_state_ = ChunkState::kDataEnd;
        return true;
      }
      case ChunkState::kDataEnd: {
        absl::StatusOr<bool> more = await_bytes(2);
        if (!more.ok()) return more.status();
        if (!*more) return cut_short;
        if (in_.compare(pos_, 2, "\r\n") != 0) return absl::DataLossError("a chunk overruns its size");
        pos_ += 2;
        chunk_state_ = ChunkState::kSize;
        break;
      }
      case ChunkState::kDone:
        return false;
    }
  }
}

absl::StatusOr<HttpResponse> HttpFetch(const std::string& address, const HttpRequest& request) {
  absl::StatusOr<std::unique_ptr<HttpStream>> stream = HttpStream::Send(address, request);
  if (!stream.ok()) return stream.status();
  if (absl::Status head = (*stream)->ReadHead(); !head.ok()) return head;
  HttpResponse response = (*stream)->head();
  while (true) {
    absl::StatusOr<bool> more = (*stream)->Read(&response.body);
    if (!more.ok()) return more.status();
    if (!*more) return response;
  }
}

}  // namespace kiln::test
