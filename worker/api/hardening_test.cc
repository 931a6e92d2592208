// The hardening hosted Workers apply, each tested: a clock that moves only
// across I/O, no SharedArrayBuffer, Atomics.wait refused, eval / new Function
// refused unless the function's config allows it, no WebAssembly compiled from
// bytes unless allowed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "worker/api/api_test_util.h"

namespace kiln::worker::api {
namespace {

using ::testing::HasSubstr;

std::string Body(const std::string& source, FunctionSettings settings = {}) {
  Bundle bundle;
  bundle.main_module = "index.js";
  bundle.files["index.js"] = source;
  InvocationOutcome outcome = testing::RunFetch(bundle, settings);
  if (outcome.status != InvocationOutcome::Status::kOk) return "error: " + outcome.error;
  return outcome.http.body;
}

TEST(HardeningTest, ClockStandsStillWhileComputingAndMovesAcrossIo) {
  EXPECT_EQ(Body(R"JS(
    export default { async fetch() {
      const t0 = Date.now(), p0 = performance.now(), d0 = new Date().getTime();
      let x = 0;
      for (let i = 0; i < 3e7; i++) x += i;  // tens of milliseconds of CPU
      const still = Date.now() === t0 && performance.now() === p0 && new Date().getTime() === d0;
      await new Promise((resolve) => setTimeout(resolve, 20));
      const moved = Date.now() - t0;
      return new Response(`${still} ${moved >= 20} ${x > 0}`);
    } };
  )JS", {.limits = {.cpu = absl::Seconds(5)}}), "true true true");
}

TEST(HardeningTest, NoSharedArrayBuffer) {
  EXPECT_EQ(Body(R"JS(
    export default { fetch() {
      let blocked = false;
      try { new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer; } catch { blocked = true; }
      return new Response(`${typeof SharedArrayBuffer} ${'SharedArrayBuffer' in globalThis}`);
    } };
  )JS"), "undefined false");
}

TEST(HardeningTest, AtomicsWaitThrows) {
  EXPECT_EQ(Body(R"JS(
    export default { fetch() {
      const view = new Int32Array(new ArrayBuffer(4));
      try { Atomics.wait(view, 0, 0, 10); return new Response('waited'); }
      catch (e) { return new Response(e.name); }
    } };
  )JS"), "TypeError");
}

constexpr char kEval[] = R"JS(
  export default { fetch() {
    const out = [];
    for (const attempt of [() => eval('1 + 1'), () => new Function('return 2')(),
                           () => (0, eval)('3'), () => setTimeout.constructor('return 4')()]) {
      try { out.push(attempt()); } catch (e) { out.push(e.name); }
    }
    return new Response(out.join(','));
  } };
)JS";

TEST(HardeningTest, EvalIsRefusedUnlessAllowed) {
  EXPECT_EQ(Body(kEval), "EvalError,EvalError,EvalError,EvalError");
  EXPECT_EQ(Body(kEval, {.allow_eval = true}), "2,2,3,4");
}

TEST(HardeningTest, EvalAtGlobalScopeFailsTheBuildUnlessAllowed) {
  const std::string source = "const two = eval('2'); export default { fetch() { return new Response(String(two)); } };";
  EXPECT_THAT(Body(source), HasSubstr("EvalError"));
  EXPECT_EQ(Body(source, {.allow_eval = true}), "2");
}

// (module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
constexpr char kWasm[] = R"JS(
  const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 7, 1, 96, 2, 127, 127, 1, 127, 3, 2, 1,
                                0, 7, 7, 1, 3, 97, 100, 100, 0, 0, 10, 9, 1, 7, 0, 32, 0, 32, 1, 106, 11]);
  export default { async fetch() {
    const out = [];
    try { out.push(new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.add(2, 3)); }
    catch (e) { out.push(e.name); }
    try { out.push((await WebAssembly.instantiate(bytes)).instance.exports.add(4, 5)); }
    catch (e) { out.push(e.name); }
    return new Response(out.join(','));
  } };
)JS";

TEST(HardeningTest, WebAssemblyFromBytesIsRefusedUnlessAllowed) {
  EXPECT_EQ(Body(kWasm), "CompileError,CompileError");
  EXPECT_EQ(Body(kWasm, {.allow_wasm_codegen = true}), "5,9");
}

}  // namespace
}  // namespace kiln::worker::api
