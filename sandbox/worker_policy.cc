// The worker's seccomp allowlist, group by group with the reason for each.
// Started from DESIGN.md's "V8 under seccomp" list and tightened; every rule
// below is needed by V8 10.2, glibc 2.36, libuv or gRPC after start-up
// (test/sandbox_v8 runs V8 under it).
#include "sandbox/worker_policy.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "sandbox/policy_builder.h"

namespace kiln::sandbox {
namespace {

// The flags glibc's pthread_create passes to clone (nptl/pthread_create.c,
// create_thread). A thread shares everything; no exit signal.
constexpr uint64_t kPthreadCloneFlags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
                                        CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS |
                                        CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;

// clockid_t values of the form pthread_getcpuclockid() returns:
// ((~tid) << 3) | CPUCLOCK_PERTHREAD (4) | CPUCLOCK_SCHED (2). Negative, so bit 31
// is set. The kernel only resolves such ids to threads of the caller's own
// thread group (posix-cpu-timers.c, lookup_task), so allowing any tid is safe;
// per-*process* CPU clocks of other pids (bit 2 clear) stay refused.
constexpr uint32_t kThreadCpuClockMask = 0x80000007u;
constexpr uint32_t kThreadCpuClockValue = 0x80000006u;

std::vector<NamedValue> ReadableClocks() {
  return {KILN_NAMED(CLOCK_REALTIME),           KILN_NAMED(CLOCK_MONOTONIC),
          KILN_NAMED(CLOCK_PROCESS_CPUTIME_ID), KILN_NAMED(CLOCK_THREAD_CPUTIME_ID),
          KILN_NAMED(CLOCK_MONOTONIC_RAW),      KILN_NAMED(CLOCK_REALTIME_COARSE),
          KILN_NAMED(CLOCK_MONOTONIC_COARSE),   KILN_NAMED(CLOCK_BOOTTIME)};
}

std::vector<ArgCondition> ThreadCpuClock() {
  return {Arg(0, "clock")
              .Masked32(kThreadCpuClockMask,
                        {NamedValue(kThreadCpuClockValue, "per-thread CPU clock")})};
}

}  // namespace

absl::StatusOr<Policy> WorkerPolicy(Mode mode) {
  const pid_t pid = getpid();
  const NamedValue self(static_cast<uint64_t>(pid), absl::StrCat(pid, " (this process)"));
  const std::vector<NamedValue> prot = {KILN_NAMED(PROT_READ), KILN_NAMED(PROT_WRITE),
                                        KILN_NAMED(PROT_EXEC)};
  PolicyBuilder builder;
  builder.SetMode(mode);

  // V8 reserves, commits and frees its heap with mmap/munmap, flips JIT code
  // pages between RW and RX with mprotect, and releases pages with madvise;
  // glibc malloc uses brk, mmap, mremap and madvise. No other protection bit
  // (PROT_SEM, PROT_GROWSUP/DOWN) is needed. pkey_* serve V8's optional
  // memory protection keys for Wasm code (--wasm-memory-protection-keys, off
  // by default; this CPU has no PKU): allowed so turning it on cannot kill.
  builder.Group("memory: V8 heap and JIT code, glibc malloc")
      .Allow({__NR_brk, __NR_munmap, __NR_mremap})
      .AllowIf(__NR_mmap, {Arg(2, "prot").BitsWithin(prot)})
      .AllowIf(__NR_mprotect, {Arg(2, "prot").BitsWithin(prot)})
      .AllowIf(__NR_pkey_mprotect, {Arg(2, "prot").BitsWithin(prot)})
      .AllowIf(__NR_pkey_alloc, {Arg(0, "flags").Equals({0})})
      .Allow(__NR_pkey_free)
      // V8: MADV_FREE, falling back to MADV_DONTNEED (DiscardSystemPages), and
      // MADV_DONTFORK on every reservation (OS::Allocate in Debian's libnode
      // build, thousands of calls under GC pressure); glibc: MADV_DONTNEED
      // (free, thread stacks), MADV_HUGEPAGE with the THP tunable. The rest
      // are access-pattern and core-dump hints. Refused: MADV_REMOVE,
      // MADV_HWPOISON, MADV_MERGEABLE (KSM, a cross-process side channel), ...
      .AllowIf(__NR_madvise, {Arg(2, "advice")
                                  .Equals32({KILN_NAMED(MADV_NORMAL), KILN_NAMED(MADV_RANDOM),
                                             KILN_NAMED(MADV_SEQUENTIAL), KILN_NAMED(MADV_WILLNEED),
                                             KILN_NAMED(MADV_DONTNEED), KILN_NAMED(MADV_FREE),
                                             KILN_NAMED(MADV_DONTFORK), KILN_NAMED(MADV_DONTDUMP),
                                             KILN_NAMED(MADV_DODUMP), KILN_NAMED(MADV_HUGEPAGE),
                                             KILN_NAMED(MADV_NOHUGEPAGE)})});

  // Threads, only as pthreads: V8's platform workers (concurrent GC and
  // compilation) and libuv/gRPC threads. Any other clone (fork, vfork-like
  // posix_spawn, new namespaces) gets the default action. glibc >= 2.34 tries
  // clone3 first, whose flags sit in memory a filter cannot read: ENOSYS makes
  // it fall back to clone, which a filter can check.
  builder.Group("threads: pthread_create only, and thread exit")
      .AllowIf(__NR_clone,
               {Arg(0, "flags")
                    .Equals32({NamedValue(kPthreadCloneFlags,
                                          "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|"
                                          "CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|"
                                          "CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID")})})
      .Errno(__NR_clone3, ENOSYS)
      .Allow({__NR_set_robust_list, __NR_rseq, __NR_exit, __NR_exit_group, __NR_gettid, __NR_getpid,
              __NR_getppid, __NR_sched_yield})
      // How the kernel resumes a sleep (clock_nanosleep, futex with timeout)
      // after the process was stopped and continued (SIGSTOP/SIGCONT, a
      // debugger): it goes through the filter like any syscall.
      .Allow(__NR_restart_syscall)
      // glibc sizes malloc arenas with sched_getaffinity(0, ...); another
      // process's affinity is none of the worker's business.
      .AllowIf(__NR_sched_getaffinity, {Arg(0, "pid").Equals32({0})})
      // pthread_getschedparam(pthread_self()), which Abseil's Mutex calls the
      // first time a thread blocks (it records the waiter's priority). glibc
      // passes the thread's tid, which a filter cannot tell from another
      // process's pid; both calls only read a scheduling class and priority.
      .Allow({__NR_sched_getparam, __NR_sched_getscheduler})
      // Reaping the snapshot builder, the worker's one child process (forked
      // before confinement). The kernel lets wait4 reach only the caller's
      // own children.
      .Allow(__NR_wait4);

  // Locks and condition variables (glibc's nptl, V8's base::Mutex/Semaphore,
  // std::mutex/condition_variable, gRPC's absl::Mutex). The op list is what
  // glibc 2.36 issues, with or without FUTEX_PRIVATE_FLAG / FUTEX_CLOCK_REALTIME.
  // Left out: FUTEX_FD (removed from Linux) and futex_waitv (unused).
  builder.Group("futex: locks and condition variables")
      .AllowIf(__NR_futex,
               {Arg(1, "op").Masked32(
                   FUTEX_CMD_MASK,
                   {KILN_NAMED(FUTEX_WAIT), KILN_NAMED(FUTEX_WAKE), KILN_NAMED(FUTEX_REQUEUE),
                    KILN_NAMED(FUTEX_CMP_REQUEUE), KILN_NAMED(FUTEX_WAKE_OP),
                    KILN_NAMED(FUTEX_LOCK_PI), KILN_NAMED(FUTEX_UNLOCK_PI),
                    KILN_NAMED(FUTEX_TRYLOCK_PI), KILN_NAMED(FUTEX_WAIT_BITSET),
                    KILN_NAMED(FUTEX_WAKE_BITSET), KILN_NAMED(FUTEX_WAIT_REQUEUE_PI),
                    KILN_NAMED(FUTEX_CMP_REQUEUE_PI), KILN_NAMED(FUTEX_LOCK_PI2)})});

  // Clocks and sleeps. Most clock reads are answered by the vDSO without a
  // syscall; the syscall path is the fallback and the CPU-time clocks, which
  // the per-invocation CPU limit reads (a watchdog thread reads the isolate
  // thread's clock via pthread_getcpuclockid). CLOCK_TAI and the alarm clocks
  // are not needed; another process's CPU clock is refused.
  builder.Group("clocks and sleeps: timers, CPU-time limits")
      .AllowIf(__NR_clock_gettime, {Arg(0, "clock").Equals32(ReadableClocks())})
      .AllowIf(__NR_clock_gettime, ThreadCpuClock())
      .AllowIf(__NR_clock_getres, {Arg(0, "clock").Equals32(ReadableClocks())})
      .AllowIf(__NR_clock_getres, ThreadCpuClock())
      // glibc's nanosleep/usleep/sleep_for are clock_nanosleep(CLOCK_REALTIME).
      .AllowIf(__NR_clock_nanosleep,
               {Arg(0, "clock")
                    .Equals32({KILN_NAMED(CLOCK_REALTIME), KILN_NAMED(CLOCK_MONOTONIC),
                               KILN_NAMED(CLOCK_BOOTTIME)})})
      .Allow({__NR_nanosleep, __NR_gettimeofday})
      .AllowIf(__NR_timerfd_create,
               {Arg(0, "clock")
                    .Equals32({KILN_NAMED(CLOCK_REALTIME), KILN_NAMED(CLOCK_MONOTONIC),
                               KILN_NAMED(CLOCK_BOOTTIME)})})
      .Allow({__NR_timerfd_settime, __NR_timerfd_gettime});

  // The gRPC stream to the scheduler and the libuv loops run on descriptors
  // that exist before confinement. New descriptors can only be anonymous:
  // epoll instances, eventfds, timerfds, pipes (libuv's loop and async
  // handles create these). Nothing here names a path or an address: sendto
  // only without a destination, and socket/connect/open are refused below.
  builder.Group("I/O on descriptors opened before confinement; event loops")
      .Allow(
          {__NR_read,       __NR_write,       __NR_readv,       __NR_writev,   __NR_pread64,
           __NR_pwrite64,   __NR_close,       __NR_dup,         __NR_dup2,     __NR_dup3,
           __NR_lseek,      __NR_fstat,       __NR_poll,        __NR_ppoll,    __NR_epoll_create1,
           __NR_epoll_ctl,  __NR_epoll_wait,  __NR_epoll_pwait, __NR_eventfd2, __NR_pipe2,
           __NR_recvmsg,    __NR_recvfrom,    __NR_sendmsg,     __NR_shutdown, __NR_getsockopt,
           __NR_setsockopt, __NR_getsockname, __NR_getpeername, __NR_getrandom})
      // glibc 2.33+ implements fstat() as newfstatat(fd, "", buf, AT_EMPTY_PATH).
      // A filter cannot read the path: with AT_EMPTY_PATH and a non-empty
      // path, native code could still learn a path's metadata (never its
      // contents). stat()/lstat() of a path fail below.
      .AllowIf(__NR_newfstatat, {Arg(3, "flags").Equals32({KILN_NAMED(AT_EMPTY_PATH)})})
      .AllowIf(__NR_sendto, {Arg(4, "dest_addr").Equals({NamedValue(0, "NULL")})})
      .AllowIf(__NR_fcntl, {Arg(1, "cmd").Equals32({KILN_NAMED(F_GETFD), KILN_NAMED(F_SETFD),
                                                    KILN_NAMED(F_GETFL), KILN_NAMED(F_SETFL),
                                                    KILN_NAMED(F_DUPFD_CLOEXEC)})})
      // libuv sets non-blocking / close-on-exec with ioctl; FIONREAD sizes reads.
      .AllowIf(__NR_ioctl, {Arg(1, "request")
                                .Equals32({KILN_NAMED(FIONREAD), KILN_NAMED(FIONBIO),
                                           KILN_NAMED(FIOCLEX), KILN_NAMED(FIONCLEX)})})
      // isatty() (stdio decides buffering with it) copes with "not a terminal".
      .ErrnoIf(__NR_ioctl, ENOTTY, {Arg(1, "request").Equals32({KILN_NAMED(TCGETS)})});

  // Signal handling within the process: V8 and glibc install handlers and
  // masks; abort() and pthread_kill() signal this process's own threads via
  // tgkill. Signals to any other process are refused.
  builder.Group("signals: handlers, and signals to this process only")
      .Allow({__NR_rt_sigaction, __NR_rt_sigprocmask, __NR_rt_sigreturn, __NR_sigaltstack})
      .AllowIf(__NR_kill, {Arg(0, "pid").Equals32({self})})
      .AllowIf(__NR_tgkill, {Arg(0, "tgid").Equals32({self})})
      .AllowIf(__NR_tkill, {Arg(0, "tid").Equals32({self})});

  // Process information V8 and the limits code read about themselves.
  builder
      .Group("process information and thread names")
      // Reading (never setting) its own limits: glibc's getrlimit, which V8
      // uses (SysInfo::AmountOfVirtualMemory).
      .AllowIf(__NR_prlimit64,
               {Arg(0, "pid").Equals32({0}), Arg(2, "new_limit").Equals({NamedValue(0, "NULL")})})
      .AllowIf(__NR_getrusage,
               {Arg(0, "who").Equals32({KILN_NAMED(RUSAGE_SELF), KILN_NAMED(RUSAGE_THREAD)})})
      // V8 names its threads with PR_SET_NAME; PR_SET_VMA names anonymous
      // mappings (glibc >= 2.38). Refused: PR_SET_DUMPABLE (would undo the
      // hardening), PR_SET_SECCOMP, PR_SET_MM, PR_CAP*, ...
      .AllowIf(__NR_prctl, {Arg(0, "option")
                                .Equals32({KILN_NAMED(PR_SET_NAME), KILN_NAMED(PR_GET_NAME),
                                           KILN_NAMED(PR_SET_VMA)})});

  // Libraries look at files lazily, long after start-up, and cope when they
  // cannot: V8 reads /proc/self/maps for the code-range hint of a new isolate
  // (OS::GetFreeMemoryRangesWithin) and /dev/urandom for each random number
  // generator unless the embedder set an entropy source; glibc reads
  // /proc/sys/vm/overcommit_memory the first time a thread's malloc arena
  // shrinks (a TurboFan job freeing its zone on a worker thread does it);
  // ICU and glibc read /etc/localtime and readlink it on the first Date use.
  // Killing here would crash the worker on its first new isolate or first
  // optimised function, so a path lookup fails instead -- nothing can be
  // opened either way. (Requirement on the embedder: call
  // v8::V8::SetEntropySource before V8::Initialize, or V8 silently seeds its
  // generators from the clock.)
  builder.Group("path lookups fail with EACCES: libraries probe files lazily and cope")
      .Errno(__NR_openat, EACCES)
      .Errno(__NR_open, EACCES)
      .Errno(__NR_readlink, EACCES)
      .ErrnoIf(__NR_newfstatat, EACCES,
               {Arg(3, "flags").Equals32({0, KILN_NAMED(AT_SYMLINK_NOFOLLOW)})});

  // Named so Describe() shows them and Build() fails if an edit above allows
  // one; unnamed syscalls get the same default action.
  builder.Group("refused, kills the process: new programs and processes, other processes")
      .KillProcess({__NR_execve, __NR_execveat, __NR_fork, __NR_vfork, __NR_ptrace,
                    __NR_process_vm_readv, __NR_process_vm_writev, __NR_kcmp, __NR_pidfd_open,
                    __NR_pidfd_getfd, __NR_pidfd_send_signal, __NR_rt_sigqueueinfo,
                    __NR_rt_tgsigqueueinfo});
  builder.Group("refused, kills the process: files, sockets, namespaces, privileges")
      .KillProcess({__NR_openat2,
                    __NR_creat,
                    __NR_open_by_handle_at,
                    __NR_name_to_handle_at,
                    __NR_memfd_create,
                    __NR_socket,
                    __NR_socketpair,
                    __NR_connect,
                    __NR_bind,
                    __NR_listen,
                    __NR_accept,
                    __NR_accept4,
                    __NR_mount,
                    __NR_umount2,
                    __NR_pivot_root,
                    __NR_chroot,
                    __NR_move_mount,
                    __NR_open_tree,
                    __NR_fsopen,
                    __NR_fsmount,
                    __NR_fsconfig,
                    __NR_fspick,
                    __NR_mount_setattr,
                    __NR_unshare,
                    __NR_setns,
                    __NR_setuid,
                    __NR_setgid,
                    __NR_setreuid,
                    __NR_setregid,
                    __NR_setresuid,
                    __NR_setresgid,
                    __NR_setfsuid,
                    __NR_setfsgid,
                    __NR_setgroups,
                    __NR_capset,
                    __NR_personality,
                    __NR_seccomp});
  builder.Group("refused, kills the process: kernel attack surface")
      .KillProcess({__NR_bpf,
                    __NR_io_uring_setup,
                    __NR_io_uring_enter,
                    __NR_io_uring_register,
                    __NR_userfaultfd,
                    __NR_perf_event_open,
                    __NR_keyctl,
                    __NR_add_key,
                    __NR_request_key,
                    __NR_kexec_load,
                    __NR_kexec_file_load,
                    __NR_init_module,
                    __NR_finit_module,
                    __NR_delete_module,
                    __NR_iopl,
                    __NR_ioperm,
                    __NR_modify_ldt,
                    __NR_mknod,
                    __NR_mknodat,
                    __NR_fanotify_init,
                    __NR_swapon,
                    __NR_swapoff,
                    __NR_reboot,
                    __NR_acct,
                    __NR_quotactl,
                    __NR_syslog,
                    __NR_vhangup,
                    __NR_settimeofday,
                    __NR_clock_settime,
                    __NR_clock_adjtime,
                    __NR_adjtimex,
                    __NR_sethostname,
                    __NR_setdomainname,
                    __NR_lookup_dcookie,
                    __NR_memfd_secret});

  return builder.Build();
}

}  // namespace kiln::sandbox
