// DialTcp: getaddrinfo + connect with a deadline.
#include "worker/server/dial.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace kiln::worker::server {

absl::StatusOr<int> DialTcp(const std::string& host_port, absl::Duration timeout) {
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
