// Tests for EnterEmptyNamespaces, each in a forked (single-threaded) child: the
// namespaces change, the network is empty while a connection made before
// stays usable, ids are kept, mounts are private, and a multi-threaded caller
// is refused.
#include "sandbox/namespaces.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <string>
#include <thread>

namespace kiln::sandbox {
namespace {

constexpr int kNotPermitted = 77;  // the kernel refused every namespace

int ExitCodeOf(const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid == 0) _exit(body());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

std::string NamespaceLink(const char* name) {
  char buf[128] = {};
  ssize_t n = readlink((std::string("/proc/self/ns/") + name).c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, n) : "";
}

int ConnectTo(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

TEST(NamespacesTest, EntersEmptyUserMountAndNetworkNamespaces) {
  // A listener in the test's own network namespace.
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 8), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);

  int code = ExitCodeOf([port] {
    const std::string user = NamespaceLink("user"), mnt = NamespaceLink("mnt"),
                      net = NamespaceLink("net");
    const uid_t uid = getuid();
    const gid_t gid = getgid();
    // Connected before: must keep working afterwards.
    int early = ConnectTo(port);
    if (early < 0) return 1;

    absl::StatusOr<Namespaces> entered = EnterEmptyNamespaces();
    if (!entered.ok()) {
      fprintf(stderr, "EnterEmptyNamespaces: %s\n", entered.status().ToString().c_str());
      return entered.status().code() == absl::StatusCode::kPermissionDenied ? kNotPermitted : 2;
    }
    if (entered->ToString() != "user+mount+network") return 3;
    if (NamespaceLink("user") == user || NamespaceLink("mnt") == mnt ||
        NamespaceLink("net") == net) {
      return 4;
    }
    if (getuid() != uid || getgid() != gid) return 5;  // ids mapped one-to-one
    // Empty network: loopback is down, nothing is reachable.
    if (ConnectTo(port) >= 0) return 6;
    if (errno != ENETUNREACH) return 7;
    if (write(early, "k", 1) != 1) return 8;
    // No mount propagates in or out.
    std::ifstream mountinfo("/proc/self/mountinfo");
    std::string line;
    while (std::getline(mountinfo, line)) {
      if (line.find(" shared:") != std::string::npos) return 9;
    }
    return 0;
  });
  if (code == kNotPermitted) {
    close(listener);
    GTEST_SKIP() << "this kernel permits no new namespaces here";
  }
  EXPECT_EQ(code, 0);
  // The connection made before unshare carried its byte out of the namespace.
  int accepted = accept(listener, nullptr, nullptr);
  ASSERT_GE(accepted, 0);
  char c = 0;
  EXPECT_EQ(read(accepted, &c, 1), 1);
  EXPECT_EQ(c, 'k');
  close(accepted);
  close(listener);
}

TEST(NamespacesTest, EntersOnlyWhatIsAskedFor) {
  EXPECT_EQ(ExitCodeOf([] {
              const std::string net = NamespaceLink("net"), mnt = NamespaceLink("mnt");
              absl::StatusOr<Namespaces> entered =
                  EnterEmptyNamespaces({.user = true, .mount = false, .network = false});
              if (!entered.ok()) return 1;
              if (entered->ToString() != "user") return 2;
              return NamespaceLink("net") == net && NamespaceLink("mnt") == mnt ? 0 : 3;
            }),
            0);
  absl::StatusOr<Namespaces> none = EnterEmptyNamespaces(Namespaces{});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->ToString(), "none");
}

TEST(NamespacesTest, RefusesAMultiThreadedProcess) {
  EXPECT_EQ(ExitCodeOf([] {
              int fds[2];
              if (pipe(fds) != 0) return 1;
              std::thread waiter([&] {
                char c;
                (void)!read(fds[0], &c, 1);
              });
              absl::StatusOr<Namespaces> entered = EnterEmptyNamespaces();
              (void)!write(fds[1], "x", 1);
              waiter.join();
              if (entered.ok()) return 2;
              return entered.status().code() == absl::StatusCode::kFailedPrecondition ? 0 : 3;
            }),
            0);
}

}  // namespace
}  // namespace kiln::sandbox
