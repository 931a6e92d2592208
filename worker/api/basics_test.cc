// Conformance tests for the runtime's basic globals: console formatting,
// timers, TextEncoder/TextDecoder (UTF-8), crypto.getRandomValues.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "worker/api/api_test_util.h"

namespace kiln::worker::api {
namespace {

using testing::FetchBody;

TEST(BasicsTest, TextEncoderRoundTripsUtf8) {
  EXPECT_EQ(FetchBody(R"JS(
    export default { fetch() {
      const bytes = new TextEncoder().encode('h\u00e9llo \u{1F600}');
      const text = new TextDecoder().decode(bytes);
      return new Response(`${bytes.length} ${text === 'h\u00e9llo \u{1F600}'}`);
    } };
  )JS"), "11 true");
}

TEST(BasicsTest, TextDecoderFatalAndBom) {
  EXPECT_EQ(FetchBody(R"JS(
    export default { fetch() {
      const out = [];
      out.push(new TextDecoder().decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])));
      out.push(new TextDecoder('utf-8', { ignoreBOM: true }).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])).length);
      out.push(new TextDecoder().decode(new Uint8Array([0xff])) === '\ufffd');
      try { new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xc3])); out.push('no'); }
      catch (e) { out.push(e instanceof TypeError); }
      return new Response(out.join(','));
    } };
  )JS"), "A,2,true,true");
}

TEST(BasicsTest, GetRandomValuesFillsAndBounds) {
  EXPECT_EQ(FetchBody(R"JS(
    export default { fetch() {
      const a = crypto.getRandomValues(new Uint32Array(8));
      let threw = false;
      try { crypto.getRandomValues(new Uint8Array(65537)); } catch (e) { threw = e.name === 'RangeError'; }
      return new Response(`${a.some((x) => x !== 0)} ${threw}`);
    } };
  )JS"), "true true");
}

}  // namespace
}  // namespace kiln::worker::api
