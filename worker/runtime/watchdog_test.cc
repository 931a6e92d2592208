// Tests of the watchdog's CPU accounting: turns are charged the CPU they used
// (not their wall time); approximate ones at most kClockReuse more.
#include "worker/runtime/watchdog.h"

#include <gtest/gtest.h>

#include "absl/time/clock.h"

namespace kiln::worker {
namespace {

// Burns CPU on the calling thread for `cpu` of its CPU clock.
void Spin(absl::Duration cpu) {
  const int64_t until = Watchdog::ThreadCpuNanos() + absl::ToInt64Nanoseconds(cpu);
  volatile uint64_t sink = 0;
  while (Watchdog::ThreadCpuNanos() < until) {
    for (int i = 0; i < 1000; ++i) sink = sink + i;
  }
}

class WatchdogTest : public ::testing::TestWithParam<bool> {
 protected:
  void Begin() { watchdog_.BeginTurn(slot_, nullptr, absl::Seconds(10), absl::InfiniteFuture(), GetParam()); }

  Watchdog watchdog_;
  Watchdog::Slot* slot_ = watchdog_.Register();
};

TEST_P(WatchdogTest, LongTurnIsChargedItsCpuTime) {
  Begin();
  Spin(absl::Milliseconds(20));
  const absl::Duration charged = watchdog_.EndTurn(slot_);
  EXPECT_GE(charged, absl::Milliseconds(20));
  EXPECT_LT(charged, absl::Milliseconds(20) + 2 * Watchdog::kClockReuse);
}

TEST_P(WatchdogTest, TimeSpentWaitingIsNotCharged) {
  Begin();
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_LT(watchdog_.EndTurn(slot_), absl::Milliseconds(5));
}

// CPU the thread used between turns is charged to an approximate turn only
// within kClockReuse of the reading it is measured from, and never to an
// exact one.
TEST_P(WatchdogTest, CpuBetweenTurnsIsChargedAtMostKClockReuse) {
  const absl::Duration slack = GetParam() ? Watchdog::kClockReuse : absl::ZeroDuration();
  for (int i = 0; i < 20; ++i) {
    Begin();
    EXPECT_LT(watchdog_.EndTurn(slot_), Watchdog::kClockReuse);
    Spin(i % 2 == 0 ? absl::Milliseconds(2) : absl::Microseconds(60));
    Begin();
    absl::SleepFor(absl::Milliseconds(1));  // a long turn that uses almost no CPU
    EXPECT_LT(watchdog_.EndTurn(slot_), slack + absl::Microseconds(50));
  }
}

INSTANTIATE_TEST_SUITE_P(ExactAndApproximate, WatchdogTest, ::testing::Bool());

}  // namespace
}  // namespace kiln::worker
