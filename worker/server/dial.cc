// DialScheduler: getaddrinfo + connect (or an abstract Unix socket) with a deadline.
#include "worker/server/dial.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace kiln::worker::server {

namespace {

absl::StatusOr<int> DialAbstractUnix(const std::string& address, absl::string_view name,
                                     absl::Duration timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // Abstract names start with a NUL byte and are not NUL-terminated.
  if (name.empty() || name.size() + 1 > sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("'", address, "' is not a valid abstract socket name"));
  }
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  const socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  const absl::Time deadline = absl::Now() + timeout;
  std::string last_error = "timed out";
  while (absl::Now() < deadline) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return absl::UnavailableError(absl::StrCat("socket: ", strerror(errno)));
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), length) == 0) return fd;
    last_error = strerror(errno);
    close(fd);
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::UnavailableError(absl::StrCat("cannot reach the scheduler at ", address, ": ", last_error));
}

}  // namespace

absl::StatusOr<int> DialScheduler(const std::string& host_port, absl::Duration timeout) {
  constexpr absl::string_view kAbstract = "unix-abstract:";
  if (absl::StartsWith(host_port, kAbstract)) {
    return DialAbstractUnix(host_port, absl::string_view(host_port).substr(kAbstract.size()), timeout);
  }
  size_t colon = host_port.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == host_port.size()) {
    return absl::InvalidArgumentError(absl::StrCat("'", host_port, "' is not HOST:PORT"));
  }
  std::string host = host_port.substr(0, colon);
  std::string port = host_port.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", host_port, ": ", gai_strerror(rc)));
  }
  const absl::Time deadline = absl::Now() + timeout;
  std::string last_error = "no address";
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    // Retried until the deadline: the scheduler may still be starting.
    while (absl::Now() < deadline) {
      int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
      if (fd < 0) {
        last_error = strerror(errno);
        break;
      }
      if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        freeaddrinfo(found);
        return fd;
      }
      last_error = strerror(errno);
      close(fd);
      absl::SleepFor(absl::Milliseconds(50));
    }
  }
  freeaddrinfo(found);
  return absl::UnavailableError(absl::StrCat("cannot reach the scheduler at ", host_port, ": ", last_error));
}

}  // namespace kiln::worker::server
