// A sandboxee for the policy tests: prepares what a probe needs (descriptors,
// threads) while unconfined, confines itself with ConfineWorker, then makes one
// syscall the test asserts on.
//
// Usage: syscall_probe <none|enforce|log> <probe>
// Exit status: 0 if the probe's call succeeded, its errno if it failed,
// 200 + n for a probe-specific mismatch, 250 if confinement failed, 251 for
// bad usage, 253 if preparing failed. A call the policy kills ends the
// process with SIGSYS instead.
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "sandbox/confine.h"

namespace {

using kiln::sandbox::Mode;

// 0 when a libc-style call returned >= 0, else its errno.
int Result(long rc) { return rc >= 0 ? 0 : errno; }

// State a probe prepares before confinement.
struct Prepared {
  int fds[2] = {-1, -1};
  std::thread thread;
  std::atomic<int> thread_result{-1};
  clockid_t clock = 0;
};

struct Probe {
  std::function<void(Prepared&)> prepare;  // runs unconfined; may be empty
  std::function<int(Prepared&)> run;       // runs confined
};

// Preparation must succeed, or the probe would test nothing.
void Must(bool ok, const char* what) {
  if (ok) return;
  fprintf(stderr, "syscall_probe: preparing %s failed: %s\n", what, strerror(errno));
  _exit(253);
}

constexpr int kProtSem = 0x8;  // PROT_SEM, from <asm-generic/mman-common.h>

long Syscall6(long nr, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0, long f = 0) {
  return syscall(nr, a, b, c, d, e, f);
}

std::map<std::string, Probe> Probes() {
  std::map<std::string, Probe> p;
  // --- refused: these must kill the process ---

  p["creat"] = {nullptr, [](Prepared&) { return Result(creat("/tmp/kiln-probe-creat", 0600)); }};
  p["openat2"] = {
      nullptr, [](Prepared&) {
        struct {
          uint64_t flags, mode, resolve;
        } how = {O_RDONLY, 0, 0};
        return Result(Syscall6(SYS_openat2, AT_FDCWD, reinterpret_cast<long>("/etc/passwd"),
                               reinterpret_cast<long>(&how), sizeof how));
      }};
  p["socket"] = {nullptr, [](Prepared&) { return Result(socket(AF_INET, SOCK_STREAM, 0)); }};
  p["connect"] = {
      [](Prepared& s) { Must((s.fds[0] = socket(AF_INET, SOCK_STREAM, 0)) >= 0, "socket"); },
      [](Prepared& s) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(9);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        long rc = connect(s.fds[0], reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        // Refused by the peer counts as "the call ran".
        return rc == 0 || errno == ECONNREFUSED ? 0 : errno;
      }};
  p["execve"] = {nullptr, [](Prepared&) {
                   char* argv[] = {const_cast<char*>("true"), nullptr};
                   execve("/bin/true", argv, environ);
                   return errno;
                 }};
  p["fork"] = {nullptr, [](Prepared&) {
                 pid_t pid = fork();
                 if (pid == 0) _exit(0);
                 return Result(pid);
               }};
  // A raw clone with process (not thread) flags.
  p["clone_process"] = {nullptr, [](Prepared&) {
                          long pid = Syscall6(SYS_clone, SIGCHLD);
                          if (pid == 0) _exit(0);
                          return Result(pid);
                        }};
  p["ptrace"] = {nullptr, [](Prepared&) { return Result(ptrace(PTRACE_TRACEME, 0, 0, 0)); }};
  // A mount point that does not exist: unconfined, this fails with ENOENT
  // instead of mounting anything.
  p["mount"] = {nullptr, [](Prepared&) {
                  return Result(mount("none", "/nonexistent-kiln-probe", "tmpfs", 0, nullptr));
                }};
  p["kill_parent"] = {nullptr, [](Prepared&) { return Result(kill(getppid(), 0)); }};
  p["kill_init"] = {nullptr, [](Prepared&) { return Result(kill(1, 0)); }};
  p["kill_group"] = {nullptr, [](Prepared&) { return Result(kill(0, 0)); }};
  p["io_uring_setup"] = {
      nullptr, [](Prepared&) {
        char params[120] = {};
        return Result(Syscall6(SYS_io_uring_setup, 1, reinterpret_cast<long>(params)));
      }};
  p["userfaultfd"] = {nullptr,
                      [](Prepared&) { return Result(Syscall6(SYS_userfaultfd, O_CLOEXEC)); }};
  p["bpf"] = {nullptr, [](Prepared&) { return Result(Syscall6(SYS_bpf, 0, 0, 0)); }};
  p["unshare"] = {nullptr, [](Prepared&) { return Result(unshare(CLONE_NEWUSER)); }};
  p["setuid"] = {nullptr, [](Prepared&) { return Result(setuid(getuid())); }};
  p["memfd_create"] = {nullptr, [](Prepared&) { return Result(memfd_create("x", 0)); }};
  // A per-process CPU clock of another process (prepared while unconfined,
  // since clock_getcpuclockid itself probes with clock_getres).
  p["parent_cpu_clock"] = {
      [](Prepared& s) { Must(clock_getcpuclockid(getppid(), &s.clock) == 0, "clock"); },
      [](Prepared& s) {
        timespec ts;
        return Result(Syscall6(SYS_clock_gettime, s.clock, reinterpret_cast<long>(&ts)));
      }};
  p["clock_tai"] = {
      nullptr, [](Prepared&) {
        timespec ts;
        return Result(Syscall6(SYS_clock_gettime, CLOCK_TAI, reinterpret_cast<long>(&ts)));
      }};
  p["mprotect_prot_sem"] = {nullptr, [](Prepared&) {
                              void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                              if (page == MAP_FAILED) return 201;
                              return Result(mprotect(page, 4096, PROT_READ | kProtSem));
                            }};
  p["madvise_mergeable"] = {nullptr, [](Prepared&) {
                              void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                              if (page == MAP_FAILED) return 201;
                              return Result(madvise(page, 4096, MADV_MERGEABLE));
                            }};
  p["ioctl_tiocsti"] = {[](Prepared& s) { Must(pipe2(s.fds, O_CLOEXEC) == 0, "pipe"); },
                        [](Prepared& s) {
                          char c = 'x';
                          return Result(ioctl(s.fds[0], TIOCSTI, &c));
                        }};
  p["fcntl_setown"] = {[](Prepared& s) { Must(pipe2(s.fds, O_CLOEXEC) == 0, "pipe"); },
                       [](Prepared& s) { return Result(fcntl(s.fds[0], F_SETOWN, getppid())); }};
  p["futex_fd"] = {nullptr, [](Prepared&) {
                     static uint32_t word = 0;
                     return Result(Syscall6(SYS_futex, reinterpret_cast<long>(&word), 2 /*FD*/, 0));
                   }};
  // Setting a limit at all (lowering, which the kernel would permit).
  p["setrlimit"] = {nullptr, [](Prepared&) {
                      struct rlimit limit = {128, 128};
                      return Result(setrlimit(RLIMIT_NOFILE, &limit));
                    }};
  p["prctl_dumpable"] = {nullptr,
                         [](Prepared&) { return Result(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)); }};
  p["sendto_addr"] = {
      [](Prepared& s) { Must(socketpair(AF_UNIX, SOCK_DGRAM, 0, s.fds) == 0, "socketpair"); },
      [](Prepared& s) {
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        strcpy(addr.sun_path, "/nonexistent-kiln-probe");
        return Result(sendto(s.fds[0], "x", 1, 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
      }};
  p["sched_getaffinity_init"] = {nullptr, [](Prepared&) {
                                   cpu_set_t set;
                                   return Result(sched_getaffinity(1, sizeof set, &set));
                                 }};
  // getpid through the i386 ABI (int 0x80, eax = 20).
  p["i386_getpid"] = {nullptr, [](Prepared&) {
                        long rc;
                        asm volatile("int $0x80" : "=a"(rc) : "a"(20) : "memory");
                        return rc > 0 ? 0 : static_cast<int>(-rc);
                      }};
  // getpid through the x32 ABI (syscall number | 0x40000000).
  p["x32_getpid"] = {nullptr, [](Prepared&) { return Result(Syscall6(0x40000000 | SYS_getpid)); }};

  // --- refused with an errno ---
  p["open_passwd"] = {nullptr, [](Prepared&) { return Result(open("/etc/passwd", O_RDONLY)); }};
  p["open_raw"] = {
      nullptr, [](Prepared&) {
        return Result(Syscall6(SYS_open, reinterpret_cast<long>("/etc/passwd"), O_RDONLY));
      }};
  p["fopen_urandom"] = {nullptr, [](Prepared&) {
                          FILE* f = fopen("/dev/urandom", "rb");
                          return f != nullptr ? 0 : errno;
                        }};
  p["stat_passwd"] = {nullptr, [](Prepared&) {
                        struct stat st;
                        return Result(stat("/etc/passwd", &st));
                      }};
  p["lstat_passwd"] = {nullptr, [](Prepared&) {
                         struct stat st;
                         return Result(lstat("/etc/passwd", &st));
                       }};
  p["readlink_exe"] = {nullptr, [](Prepared&) {
                         char buf[256];
                         return Result(readlink("/proc/self/exe", buf, sizeof buf));
                       }};
  p["clone3"] = {nullptr, [](Prepared&) {
                   clone_args args{};
                   args.exit_signal = SIGCHLD;
                   long pid = Syscall6(SYS_clone3, reinterpret_cast<long>(&args), sizeof args);
                   if (pid == 0) _exit(0);
                   return Result(pid);
                 }};
  // On a pseudo-terminal, where TCGETS would succeed unconfined.
  p["ioctl_tcgets"] = {[](Prepared& s) {
                         Must((s.fds[0] = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) >= 0, "pty");
                       },
                       [](Prepared& s) {
                         termios t;
                         return Result(ioctl(s.fds[0], TCGETS, &t));
                       }};

  // --- allowed: these must work ---
  p["getppid"] = {nullptr, [](Prepared&) { return Result(Syscall6(SYS_getppid)); }};
  p["kill_self"] = {nullptr, [](Prepared&) { return Result(kill(getpid(), 0)); }};
  p["raise_handled"] = {nullptr, [](Prepared&) {
                          static std::atomic<int> caught{0};
                          signal(SIGUSR1, [](int) { caught = 1; });
                          if (raise(SIGUSR1) != 0) return errno;  // tgkill to itself
                          return caught.load() == 1 ? 0 : 201;
                        }};
  p["abort"] = {nullptr, [](Prepared&) {
                  abort();
                  return 201;
                }};
  p["read_pipe"] = {[](Prepared& s) {
                      Must(pipe2(s.fds, O_CLOEXEC) == 0, "pipe");
                      Must(write(s.fds[1], "kiln", 4) == 4, "write");
                    },
                    [](Prepared& s) {
                      char buf[8] = {};
                      if (read(s.fds[0], buf, sizeof buf) != 4) return errno ? errno : 201;
                      return memcmp(buf, "kiln", 4) == 0 ? 0 : 202;
                    }};
  p["sendto_null"] = {
      [](Prepared& s) { Must(socketpair(AF_UNIX, SOCK_DGRAM, 0, s.fds) == 0, "socketpair"); },
      [](Prepared& s) {
        char buf[4];
        if (sendto(s.fds[0], "ok", 2, 0, nullptr, 0) != 2) return errno;
        return recv(s.fds[1], buf, sizeof buf, 0) == 2 ? 0 : 201;
      }};
  p["thread_after"] = {nullptr, [](Prepared&) {
                         std::atomic<long> sum{0};
                         std::thread a([&] {
                           for (int i = 0; i < 1000; ++i) sum += i;
                         });
                         std::thread b([&] {
                           for (int i = 0; i < 1000; ++i) sum += i;
                         });
                         a.join();
                         b.join();
                         return sum == 999000 ? 0 : 201;
                       }};
  // Reads the CPU clock of another thread of this process, as a watchdog does.
  p["thread_cpu_clock"] = {nullptr, [](Prepared&) {
                             std::atomic<bool> stop{false};
                             std::thread spinner([&] {
                               while (!stop) {
                               }
                             });
                             clockid_t clock;
                             int rc = pthread_getcpuclockid(spinner.native_handle(), &clock);
                             timespec a{}, b{};
                             if (rc == 0) rc = Result(clock_gettime(clock, &a));
                             usleep(20000);
                             if (rc == 0) rc = Result(clock_gettime(clock, &b));
                             timespec own;
                             if (rc == 0) rc = Result(clock_gettime(CLOCK_THREAD_CPUTIME_ID, &own));
                             stop = true;
                             spinner.join();
                             if (rc != 0) return rc;
                             // The spinner used CPU in between.
                             return (b.tv_sec > a.tv_sec || b.tv_nsec > a.tv_nsec) ? 0 : 201;
                           }};
  // A 300 ms sleep the test stops and continues midway: the kernel resumes it
  // with restart_syscall.
  p["sleep_stopped"] = {nullptr, [](Prepared&) {
                          timespec ts = {0, 300 * 1000 * 1000};
                          return clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, nullptr);
                        }};
  p["getrlimit"] = {nullptr, [](Prepared&) {
                      struct rlimit limit;
                      if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return errno;
                      return limit.rlim_cur == 256 ? 0 : 201;  // ConfineWorker's default
                    }};
  p["fstat_pipe"] = {[](Prepared& s) { Must(pipe2(s.fds, O_CLOEXEC) == 0, "pipe"); },
                     [](Prepared& s) {
                       struct stat st;
                       if (fstat(s.fds[0], &st) != 0) return errno;
                       return S_ISFIFO(st.st_mode) ? 0 : 201;
                     }};
  p["mmap_rwx"] = {nullptr, [](Prepared&) {
                     void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                     return page == MAP_FAILED ? errno : 0;
                   }};
  p["prctl_set_name"] = {nullptr, [](Prepared&) {
                           char name[16] = {};
                           if (prctl(PR_SET_NAME, "kiln-probe", 0, 0, 0) != 0) return errno;
                           if (prctl(PR_GET_NAME, name, 0, 0, 0) != 0) return errno;
                           return strcmp(name, "kiln-probe") == 0 ? 0 : 201;
                         }};
  p["stdio"] = {nullptr, [](Prepared&) {
                  printf("probe: stdio works\n");
                  return fflush(stdout) == 0 ? 0 : errno;
                }};
  p["malloc_large"] = {nullptr, [](Prepared&) {
                         // Large blocks go through mmap/munmap, small ones brk.
                         for (int i = 0; i < 64; ++i) {
                           void* big = malloc(8 << 20);
                           void* small = malloc(100);
                           if (big == nullptr || small == nullptr) return 201;
                           memset(big, 1, 8 << 20);
                           free(big);
                           free(small);
                         }
                         return 0;
                       }};

  // --- TSYNC: a thread started before confinement is covered too ---
  p["thread_before"] = {[](Prepared& s) {
                          Must(pipe2(s.fds, O_CLOEXEC) == 0, "pipe");
                          s.thread = std::thread([&s] {
                            char go;
                            if (read(s.fds[0], &go, 1) != 1) return;
                            s.thread_result = Result(socket(AF_UNIX, SOCK_STREAM, 0));
                          });
                        },
                        [](Prepared& s) {
                          if (write(s.fds[1], "g", 1) != 1) return errno;
                          s.thread.join();
                          return s.thread_result.load();
                        }};
  return p;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <none|enforce|log> <probe>\n", argv[0]);
    return 251;
  }
  const std::string mode = argv[1];
  std::map<std::string, Probe> probes = Probes();
  auto it = probes.find(argv[2]);
  if (it == probes.end() || (mode != "none" && mode != "enforce" && mode != "log")) {
    fprintf(stderr, "syscall_probe: unknown mode or probe '%s %s'\n", argv[1], argv[2]);
    return 251;
  }
  Prepared state;
  if (it->second.prepare) it->second.prepare(state);
  if (mode != "none") {
    absl::Status status =
        kiln::sandbox::ConfineWorker({.mode = mode == "log" ? Mode::kLog : Mode::kEnforce});
    if (!status.ok()) {
      fprintf(stderr, "syscall_probe: ConfineWorker: %s\n", status.ToString().c_str());
      return 250;
    }
  }
  int result = it->second.run(state);
  fprintf(stderr, "syscall_probe %s %s: %d (%s)\n", argv[1], argv[2], result,
          result > 0 && result < 200 ? strerrorname_np(result) : "-");
  return result;
}
