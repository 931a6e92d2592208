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
uint64_t active_hash_seed = 0;

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
  return "--no-harmony-sharedarraybuffer";
}

void InitializeV8(uint64_t hash_seed) {
  static std::once_flag once;
  std::call_once(once, [hash_seed] {
    v8::V8::SetEntropySource(FillRandom);
    active_hash_seed = hash_seed;
    while (active_hash_seed == 0) {
      FillRandom(reinterpret_cast<unsigned char*>(&active_hash_seed), sizeof(active_hash_seed));
    }
    v8::V8::SetFlagsFromString(KilnV8Flags());
    // V8 takes an int; 63 bits keep it positive.
    v8::V8::SetFlagsFromString(
        absl::StrCat("--hash-seed=", static_cast<int64_t>(active_hash_seed >> 1)).c_str());
    platform = v8::platform::NewDefaultPlatform(/*thread_pool_size=*/2).release();
    v8::V8::InitializePlatform(platform);
    v8::V8::Initialize();
  });
}

v8::Platform* V8Platform() { return platform; }

std::string V8Version() { return v8::V8::GetVersion(); }

std::string RuntimeFingerprint(const RuntimeSpec& spec) {
  InitializeV8();
  std::string material = absl::StrCat("format=", kBlobFormatVersion, "\nv8=", V8Version(),
                                      "\nflags=", KilnV8Flags(), "\nseed=", active_hash_seed,
                                      "\nruntime=", spec.source);
  for (const NativeBinding& native : spec.natives) absl::StrAppend(&material, "\nnative=", native.name);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  EVP_Digest(material.data(), material.size(), digest, &digest_length, EVP_sha256(), nullptr);
  std::string hex = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), digest_length));
  return absl::StrCat("kiln", kBlobFormatVersion, "-v8-", V8Version(), "-", hex.substr(0, 16));
}

}  // namespace kiln::worker::js
