// Proves libuv is linked and its loop runs: a timer fires once, after its
// timeout, and the loop then ends because nothing else is active.
#include <uv.h>

#include <gtest/gtest.h>

namespace {

TEST(LibuvTest, TimerFires) {
  uv_loop_t loop;
  ASSERT_EQ(uv_loop_init(&loop), 0);
  struct State {
    int fired = 0;
    uint64_t started_ms = 0;
    uint64_t fired_ms = 0;
  } state;
  uv_timer_t timer;
  uv_timer_init(&loop, &timer);
  timer.data = &state;
  state.started_ms = uv_now(&loop);
  uv_timer_start(
      &timer,
      [](uv_timer_t* t) {
        auto* s = static_cast<State*>(t->data);
        ++s->fired;
        s->fired_ms = uv_now(t->loop);
      },
      20, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(state.fired, 1);
  EXPECT_GE(state.fired_ms - state.started_ms, 20u);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

}  // namespace
