// Process-wide V8 initialisation and the runtime fingerprint.
#include "worker/js/v8_process.h"

#include <libplatform/libplatform.h>
#include <openssl/evp.h>
#include <sys/random.h>
#include <v8.h>

#include <cstdio>
#include <memory>
#include <mutex>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace kiln::worker::js {
namespace {

// Bumped whenever the snapshot layout or the native calling convention changes.
constexpr int kBlobFormatVersion = 1;

v8::Platform* platform = nullptr;

bool FillRandom(unsigned char* buffer, size_t length) {
  size_t filled = 0;
  while (filled < length) {
    ssize_t n = getrandom(buffer + filled, length - filled, 0);
    if (n < 0) return false;
    filled += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

const char* KilnV8Flags() {
  // --no-freeze-flags-after-init is not in 10.2; flags are set once, here.
  return "--no-harmony-sharedarraybuffer";
}

void InitializeV8() {
  static std::once_flag once;
  std::call_once(once, [] {
    v8::V8::SetEntropySource(FillRandom);
    v8::V8::SetFlagsFromString(KilnV8Flags());
    platform = v8::platform::NewDefaultPlatform(/*thread_pool_size=*/2).release();
    v8::V8::InitializePlatform(platform);
    v8::V8::Initialize();
  });
}

v8::Platform* V8Platform() { return platform; }

std::string V8Version() { return v8::V8::GetVersion(); }

std::string RuntimeFingerprint(const RuntimeSpec& spec) {
  std::string material = absl::StrCat("format=", kBlobFormatVersion, "\nv8=", V8Version(),
                                      "\nflags=", KilnV8Flags(), "\nruntime=", spec.source);
  for (const NativeBinding& native : spec.natives) absl::StrAppend(&material, "\nnative=", native.name);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  EVP_Digest(material.data(), material.size(), digest, &digest_length, EVP_sha256(), nullptr);
  std::string hex = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), digest_length));
  return absl::StrCat("kiln", kBlobFormatVersion, "-v8-", V8Version(), "-", hex.substr(0, 16));
}

}  // namespace kiln::worker::js
