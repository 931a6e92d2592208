// gtest main for tests that build snapshots beside live isolates: forks the
// builder process first, while this process has a single thread.
#include <sys/random.h>

#include <cstdio>
#include <memory>

#include <gtest/gtest.h>

#include "worker/api/natives.h"
#include "worker/js/v8_process.h"
#include "worker/runtime/testing/test_builder.h"

namespace kiln::worker::testing {
namespace {
std::unique_ptr<BuilderProcess> builder;
}  // namespace

SnapshotBuilder& TestBuilder() { return *builder; }

}  // namespace kiln::worker::testing

int main(int argc, char** argv) {
  // One hash seed for the builder and this process, so snapshots load here.
  uint64_t seed = 0;
  while (seed == 0) getrandom(&seed, sizeof(seed), 0);
  auto started = kiln::worker::BuilderProcess::Start(kiln::worker::api::KilnRuntime(), {.hash_seed = seed});
  if (!started.ok()) {
    std::fprintf(stderr, "cannot start the builder process: %s\n",
                 std::string(started.status().message()).c_str());
    return 1;
  }
  kiln::worker::testing::builder = std::move(*started);
  kiln::worker::js::InitializeV8(seed);
  ::testing::InitGoogleTest(&argc, argv);
  int result = RUN_ALL_TESTS();
  kiln::worker::testing::builder.reset();
  return result;
}
