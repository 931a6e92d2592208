// Natives behind the runtime script (worker/api/js). Each is reached as
// `natives.<name>(...)` from JavaScript; none is visible to user code.
#include "worker/api/natives.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cmath>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "worker/api/crypto_natives.h"
#include "worker/api/runtime_sources.h"
#include "worker/api/url_natives.h"
#include "worker/js/v8_process.h"

namespace kiln::worker::api {

namespace {

using js::NativeCall;

// natives.log(level, message)
void Log(NativeCall& call) {
  int level = static_cast<int>(call.Number(0));
  if (level < 0 || level > 4) level = 1;
  if (js::JsHost* host = call.host()) host->Log(static_cast<LogLevel>(level), call.String(1));
}

// natives.setTimer(id, delayMs, repeat)
void SetTimer(NativeCall& call) {
  js::JsHost* host = call.host();
  if (host == nullptr) {
    call.ThrowError("timers cannot be set outside an invocation");
    return;
  }
  double delay = call.Number(1);
  if (!std::isfinite(delay) || delay < 0) delay = 0;
  absl::Status status = host->SetTimer(static_cast<uint32_t>(call.Number(0)), delay, call.Bool(2));
  if (!status.ok()) call.ThrowError(status.message());
}

// natives.clearTimer(id)
void ClearTimer(NativeCall& call) {
  if (js::JsHost* host = call.host()) host->ClearTimer(static_cast<uint32_t>(call.Number(0)));
}

// natives.writeBody(bytes) -> credit left: a chunk of a streamed response body.
void WriteBody(NativeCall& call) {
  js::JsHost* host = call.host();
  if (host == nullptr) {
    call.ThrowError("no response body is being streamed");
    return;
  }
  absl::Span<uint8_t> bytes = call.Bytes(0);
  absl::StatusOr<double> credit = host->WriteBody(bytes);
  if (!credit.ok()) {
    call.ThrowError(credit.status().message());
    return;
  }
  call.ReturnNumber(*credit);
}

// natives.now() -> ms since the epoch, on the clock JavaScript sees (frozen
// during a turn; see js::ClockMillis).
void Now(NativeCall& call) { call.ReturnNumber(js::ClockMillis()); }

// natives.getRandomValues(view): fills the view from the OS CSPRNG (OpenSSL).
void GetRandomValues(NativeCall& call) {
  absl::Span<uint8_t> bytes = call.Bytes(0);
  if (!bytes.empty() && RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    call.ThrowError("the system random number generator failed");
  }
}

// natives.encodeUtf8(string) -> Uint8Array
void EncodeUtf8(NativeCall& call) { call.ReturnBytes(call.String(0)); }

// natives.decodeUtf8(view) -> string (invalid sequences become U+FFFD)
void DecodeUtf8(NativeCall& call) {
  absl::Span<uint8_t> bytes = call.Bytes(0);
  call.ReturnString(absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

// Strict UTF-8 well-formedness (RFC 3629: no overlongs, surrogates or values
// above U+10FFFF).
bool ValidUtf8(absl::Span<const uint8_t> s) {
  size_t i = 0;
  while (i < s.size()) {
    uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int extra;
    uint32_t min;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      extra = 1, min = 0x80, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2, min = 0x800, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3, min = 0x10000, cp = c & 0x07;
    } else {
      return false;
    }
    for (int k = 1; k <= extra; ++k) {
      if (i + k >= s.size() || (s[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
}

// natives.isValidUtf8(view) -> boolean
void IsValidUtf8(NativeCall& call) { call.ReturnBool(ValidUtf8(call.Bytes(0))); }

// natives.decodeBase64(text) -> Uint8Array. `text` is already validated
// (base64 alphabet, no padding, length % 4 != 1); bits beyond the last whole
// byte are discarded, as forgiving-base64 decode says.
void DecodeBase64(NativeCall& call) {
  std::string text = call.String(0);
  const size_t tail = text.size() % 4;
  const size_t drop = tail == 0 ? 0 : 4 - tail;
  text.append(drop, '=');
  std::string out(text.size() / 4 * 3, '\0');
  int length = text.empty() ? 0
                            : EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                              reinterpret_cast<const unsigned char*>(text.data()),
                                              static_cast<int>(text.size()));
  if (length < 0) {
    call.ThrowError("invalid base64");
    return;
  }
  out.resize(static_cast<size_t>(length) - drop);
  call.ReturnBytes(out);
}

// Appends the natives of another file of worker/api (e.g. CryptoNatives()).
js::RuntimeSpec* WithNatives(const std::vector<js::NativeBinding>& more, js::RuntimeSpec* spec) {
  spec->natives.insert(spec->natives.end(), more.begin(), more.end());
  return spec;
}

}  // namespace

const js::RuntimeSpec& KilnRuntime() {
  static const js::RuntimeSpec* spec = WithNatives(UrlNatives(), WithNatives(CryptoNatives(), new js::RuntimeSpec{
      kRuntimeJs,
      {
          {"log", Log},
          {"setTimer", SetTimer},
          {"clearTimer", ClearTimer},
          {"writeBody", WriteBody},
          {"now", Now},
          {"getRandomValues", GetRandomValues},
          {"encodeUtf8", EncodeUtf8},
          {"decodeUtf8", DecodeUtf8},
          {"isValidUtf8", IsValidUtf8},
          {"decodeBase64", DecodeBase64},
      },
      LazyModules(),
  }));
  return *spec;
}

}  // namespace kiln::worker::api
