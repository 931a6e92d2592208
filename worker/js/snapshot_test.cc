// Tests of the build step and of booting isolates from its snapshots: module
// resolution inside the bundle, build errors with file:line:column, the
// fingerprint check, reseeded randomness.
#include "worker/js/snapshot.h"

#include <memory>
#include <string>
#include <atomic>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "worker/api/natives.h"
#include "worker/js/js_isolate.h"
#include "worker/js/v8_process.h"

namespace kiln::worker::js {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const RuntimeSpec& Spec() { return api::KilnRuntime(); }

absl::StatusOr<std::shared_ptr<const Snapshot>> Build(Bundle bundle) {
  absl::StatusOr<BuildResult> built = BuildSnapshot(bundle, Spec());
  if (!built.ok()) return built.status();
  return Snapshot::Parse(std::move(built->blob), RuntimeFingerprint(Spec()));
}

Bundle OneFile(std::string source) {
  Bundle bundle;
  bundle.main_module = "index.js";
  bundle.files["index.js"] = std::move(source);
  return bundle;
}

// Runs a fetch that completes without timers; returns the body or the error.
std::string Fetch(JsIsolate& isolate, std::string url = "http://hello.default.localhost/") {
  HttpRequest request;
  request.url = std::move(url);
  TurnResult turn = isolate.StartFetch(request, nullptr);
  std::string out;
  if (turn.state == TurnResult::State::kDone) {
    out = isolate.TakeHttpResponse().body;
  } else if (turn.state == TurnResult::State::kThrew) {
    out = "threw: " + turn.error;
  } else if (turn.state == TurnResult::State::kBreached) {
    out = std::string("breached: ") + BreachMessage(turn.breach);
  } else {
    out = "waiting";
  }
  isolate.Finish();
  return out;
}

std::unique_ptr<JsIsolate> Boot(std::shared_ptr<const Snapshot> snapshot) {
  absl::StatusOr<std::unique_ptr<JsIsolate>> isolate = JsIsolate::Boot(snapshot, Spec(), {});
  EXPECT_TRUE(isolate.ok()) << isolate.status();
  return isolate.ok() ? std::move(*isolate) : nullptr;
}

TEST(SnapshotTest, BootsAndServesWithModuleStateFromTheBuild) {
  Bundle bundle;
  bundle.main_module = "src/index.js";
  bundle.files["src/index.js"] = R"JS(
    import * as util from './lib/util.js';
    import greeting from '../data/greeting.txt';
    import config from '../data/config.json';
    import { twice } from './lib/util';
    let counter = util.start;
    export default {
      fetch(request) {
        counter += 1;
        return new Response(`${greeting.trim()} ${config.who} ${twice(counter)} ${Object.keys(util).join(',')}`);
      },
    };
  )JS";
  bundle.files["src/lib/util.js"] = "export const start = 10; export function twice(x) { return x * 2; }";
  bundle.files["data/greeting.txt"] = "hello\n";
  bundle.files["data/config.json"] = R"({"who": "kiln"})";
  bundle.files["unused.bin"] = std::string("\0\1", 2);

  auto snapshot = Build(bundle);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  auto isolate = Boot(*snapshot);
  ASSERT_NE(isolate, nullptr);
  EXPECT_EQ(Fetch(*isolate), "hello kiln 22 start,twice");
  EXPECT_EQ(Fetch(*isolate), "hello kiln 24 start,twice");  // module state persists
  auto second = Boot(*snapshot);                               // a fresh isolate starts over
  EXPECT_EQ(Fetch(*second), "hello kiln 22 start,twice");
}

TEST(SnapshotTest, SyntaxErrorNamesFileLineColumn) {
  Bundle bundle = OneFile("import './b.js';\nexport default { fetch() {} }");
  bundle.files["b.js"] = "const x = 1;\nlet y = ;\n";
  auto snapshot = Build(bundle);
  ASSERT_FALSE(snapshot.ok());
  EXPECT_EQ(snapshot.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(snapshot.status().message(), "b.js:2:9: SyntaxError: Unexpected token ';'");
}

TEST(SnapshotTest, TopLevelThrowNamesFileLineColumn) {
  auto snapshot = Build(OneFile("\n\n  throw new TypeError('bad config');\nexport default {}"));
  ASSERT_FALSE(snapshot.ok());
  EXPECT_EQ(snapshot.status().message(), "index.js:3:9: TypeError: bad config");
}

TEST(SnapshotTest, ImportLeavingTheBundleFailsNamingIt) {
  for (const char* specifier : {"lodash", "node:fs", "https://example.com/x.js", "../outside.js", "/abs.js"}) {
    auto snapshot = Build(OneFile(std::string("import x from '") + specifier + "';\nexport default {}"));
    ASSERT_FALSE(snapshot.ok()) << specifier;
    EXPECT_EQ(snapshot.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(snapshot.status().message()),
                StartsWith(std::string("index.js:1:15: import '") + specifier + "' leaves the bundle"));
  }
  auto missing = Build(OneFile("import x from './nope.js';\nexport default {}"));
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("names no file in the bundle"));
}

TEST(SnapshotTest, MissingOrBadDefaultExportIsRefused) {
  for (const char* source : {"export const x = 1;", "export default 42;", "export default { notAHandler: 1 }"}) {
    auto snapshot = Build(OneFile(source));
    ASSERT_FALSE(snapshot.ok()) << source;
    EXPECT_EQ(snapshot.status().code(), absl::StatusCode::kInvalidArgument) << source;
  }
}

TEST(SnapshotTest, TimersAtGlobalScopeAreRefused) {
  auto snapshot = Build(OneFile("setTimeout(() => {}, 1);\nexport default { fetch() {} }"));
  ASSERT_FALSE(snapshot.ok());
  EXPECT_THAT(std::string(snapshot.status().message()), HasSubstr("global scope"));
}

TEST(SnapshotTest, EndlessTopLevelLoopFailsTheBuild) {
  BuildOptions options;
  options.time_limit = absl::Milliseconds(200);
  absl::StatusOr<BuildResult> built = BuildSnapshot(OneFile("while (true) {}\nexport default {}"), Spec(), options);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(SnapshotTest, TopLevelMemoryBombFailsTheBuild) {
  BuildOptions options;
  options.heap_limit_bytes = 64u << 20;
  absl::StatusOr<BuildResult> built =
      BuildSnapshot(OneFile("const a = []; while (true) a.push({x: a.length});\nexport default {}"), Spec(), options);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(SnapshotTest, ForeignFingerprintIsRefused) {
  absl::StatusOr<BuildResult> built = BuildSnapshot(OneFile("export default { fetch() {} }"), Spec());
  ASSERT_TRUE(built.ok()) << built.status();
  auto refused = Snapshot::Parse(built->blob, "kiln1-v8-other-0000");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  auto garbage = Snapshot::Parse("not a snapshot at all", RuntimeFingerprint(Spec()));
  EXPECT_EQ(garbage.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SnapshotTest, DamagedBytesAreRefusedBeforeAnyBoot) {
  // V8's per-boot checksum is off; the header's CRC-32 stands in for it.
  absl::StatusOr<BuildResult> built = BuildSnapshot(OneFile("export default { fetch() {} }"), Spec());
  ASSERT_TRUE(built.ok()) << built.status();
  ASSERT_TRUE(Snapshot::Parse(built->blob, RuntimeFingerprint(Spec())).ok());
  for (size_t position : {built->blob.size() / 2, built->blob.size() - 1}) {
    std::string damaged = built->blob;
    damaged[position] ^= 0x20;
    auto refused = Snapshot::Parse(damaged, RuntimeFingerprint(Spec()));
    ASSERT_FALSE(refused.ok()) << "byte " << position;
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss) << refused.status();
  }
  std::string truncated = built->blob.substr(0, built->blob.size() - 100);
  EXPECT_FALSE(Snapshot::Parse(truncated, RuntimeFingerprint(Spec())).ok());
}

TEST(SnapshotTest, EachIsolateHasItsOwnRandomness) {
  // Math.random used at global scope too: the snapshot must not freeze its state.
  auto snapshot = Build(OneFile(R"JS(
    const atBuild = Math.random();
    export default { fetch() {
      return new Response([Math.random(), Math.random(), crypto.randomUUID()].join(' '));
    } };
  )JS"));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  auto a = Boot(*snapshot);
  auto b = Boot(*snapshot);
  std::string from_a = Fetch(*a), from_b = Fetch(*b);
  EXPECT_NE(from_a, from_b);
  EXPECT_THAT(from_a, ::testing::MatchesRegex("0\\.[0-9]+ 0\\.[0-9]+ [0-9a-f-]{36}"));
}

}  // namespace
}  // namespace kiln::worker::js

namespace kiln::worker::js {
namespace {

TEST(SnapshotTest, ConcurrentBootsFromOneBlob) {
  auto snapshot = Build(OneFile("let n = 0; export default { fetch() { return new Response(String(++n)); } };"));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  auto boot_many = [&] {
    for (int i = 0; i < 200; ++i) {
      auto isolate = Boot(*snapshot);
      ASSERT_NE(isolate, nullptr);
      EXPECT_EQ(Fetch(*isolate), "1");
    }
  };
  std::thread a(boot_many), b(boot_many);
  a.join();
  b.join();
}

TEST(SnapshotTest, BuildRefusesToRunBesideLiveIsolates) {
  // Building beside live isolates corrupted Debian's V8 10.2 (a later boot
  // crashed); builds belong in a process of their own (runtime/builder.h).
  auto snapshot = Build(OneFile("export default { fetch() { return new Response('x'); } };"));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  auto isolate = Boot(*snapshot);
  auto refused = Build(OneFile("export default { fetch() { return new Response('y'); } };"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  isolate.reset();
  EXPECT_TRUE(Build(OneFile("export default { fetch() { return new Response('z'); } };")).ok());
}

}  // namespace
}  // namespace kiln::worker::js
