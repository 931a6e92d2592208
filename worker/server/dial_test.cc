// DialScheduler: TCP and abstract Unix sockets, retries, and address errors.
#include "worker/server/dial.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace kiln::worker::server {
namespace {

int ListenAbstract(const std::string& name) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  const socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), length) != 0 || listen(fd, 4) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string UniqueName() { return absl::StrCat("kiln-dial-test-", getpid(), "-", absl::ToUnixNanos(absl::Now())); }

TEST(DialSchedulerTest, AbstractUnixSocket) {
  const std::string name = UniqueName();
  int listener = ListenAbstract(name);
  ASSERT_GE(listener, 0);
  absl::StatusOr<int> fd = DialScheduler("unix-abstract:" + name, absl::Seconds(2));
  ASSERT_TRUE(fd.ok()) << fd.status();
  int accepted = accept(listener, nullptr, nullptr);
  EXPECT_GE(accepted, 0);
  ASSERT_EQ(write(*fd, "x", 1), 1);
  char byte = 0;
  EXPECT_EQ(read(accepted, &byte, 1), 1);
  EXPECT_EQ(byte, 'x');
  close(accepted);
  close(*fd);
  close(listener);
}

TEST(DialSchedulerTest, RetriesUntilTheSchedulerListens) {
  const std::string name = UniqueName();
  int listener = -1;
  std::thread late([&] {
    absl::SleepFor(absl::Milliseconds(200));
    listener = ListenAbstract(name);
  });
  absl::StatusOr<int> fd = DialScheduler("unix-abstract:" + name, absl::Seconds(5));
  late.join();
  ASSERT_TRUE(fd.ok()) << fd.status();
  close(*fd);
  close(listener);
}

TEST(DialSchedulerTest, NothingListeningIsUnavailableAfterTheTimeout) {
  const absl::Time start = absl::Now();
  absl::StatusOr<int> fd = DialScheduler("unix-abstract:" + UniqueName(), absl::Milliseconds(200));
  EXPECT_EQ(fd.status().code(), absl::StatusCode::kUnavailable) << fd.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(DialScheduler("127.0.0.1:1", absl::Milliseconds(200)).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST(DialSchedulerTest, MalformedAddressesAreInvalid) {
  for (const std::string& address : std::vector<std::string>{"no-port", ":7000", "host:", "unix-abstract:",
                                    "unix-abstract:" + std::string(200, 'n')}) {
    EXPECT_EQ(DialScheduler(address, absl::Milliseconds(100)).status().code(),
              absl::StatusCode::kInvalidArgument)
        << address;
  }
}

}  // namespace
}  // namespace kiln::worker::server
