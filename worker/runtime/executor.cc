// Executor threads: a libuv loop plus a task queue woken by uv_async.
#include "worker/runtime/executor.h"

#include <pthread.h>

#include "absl/synchronization/notification.h"
#include "common/turn_batch.h"

namespace kiln::worker {

Executor::Executor(Watchdog& watchdog, std::string name) : watchdog_(watchdog), name_(std::move(name)) {
  uv_loop_init(&loop_);
  uv_async_init(&loop_, &wakeup_, [](uv_async_t* handle) {
    static_cast<Executor*>(handle->data)->RunPosted();
  });
  wakeup_.data = this;
  // Around each loop iteration's callbacks (posted tasks, I/O): the stream
  // writes they start leave together at the end (common/turn_batch.h), e.g.
  // the results of several invocations in one message. Unreferenced: they
  // keep no loop alive.
  uv_prepare_init(&loop_, &turn_start_);
  uv_prepare_start(&turn_start_, [](uv_prepare_t*) { TurnBatch::Begin(); });
  uv_unref(reinterpret_cast<uv_handle_t*>(&turn_start_));
  uv_check_init(&loop_, &turn_end_);
  uv_check_start(&turn_end_, [](uv_check_t*) { TurnBatch::End(); });
  uv_unref(reinterpret_cast<uv_handle_t*>(&turn_end_));
  absl::Notification started;
  started_ = &started;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 8u << 20);
  pthread_create(&thread_, &attr, &Executor::ThreadMain, this);
  pthread_attr_destroy(&attr);
  started.WaitForNotification();
  started_ = nullptr;
}

Executor::~Executor() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  uv_async_send(&wakeup_);
  pthread_join(thread_, nullptr);
  uv_loop_close(&loop_);
}

void* Executor::ThreadMain(void* arg) {
  auto* self = static_cast<Executor*>(arg);
  pthread_setname_np(pthread_self(), self->name_.substr(0, 15).c_str());
  self->slot_ = self->watchdog_.Register();
  self->started_->Notify();
  uv_run(&self->loop_, UV_RUN_DEFAULT);
  TurnBatch::End();
  return nullptr;
}

void Executor::Post(absl::AnyInvocable<void()> task) {
  {
    absl::MutexLock lock(&mu_);
    tasks_.push_back(std::move(task));
  }
  uv_async_send(&wakeup_);
}

void Executor::RunPosted() {
  bool stopping;
  {
    absl::MutexLock lock(&mu_);
    running_.swap(tasks_);  // both keep their capacity
    stopping = stopping_;
  }
  for (auto& task : running_) task();
  running_.clear();
  if (stopping) {
    // Close every handle still open (invocation timers included) so
    // uv_run returns.
    uv_walk(
        &loop_,
        [](uv_handle_t* handle, void*) {
          if (!uv_is_closing(handle)) uv_close(handle, nullptr);
        },
        nullptr);
  }
}

}  // namespace kiln::worker
