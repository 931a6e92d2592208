// SHA-256 through OpenSSL's EVP interface, and the canonical bundle encoding.
#include "scheduler/store/digest.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <vector>

#include "absl/strings/escaping.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace kiln::scheduler {

std::array<uint8_t, 32> Sha256(absl::string_view data) {
  std::array<uint8_t, 32> digest;
  unsigned int size = 0;
  // EVP_Digest with SHA-256 fails only on allocation failure inside OpenSSL;
  // there is no useful way to continue with a wrong hash, so that is fatal.
  if (EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != digest.size()) {
    std::abort();
  }
  return digest;
}

std::string Sha256Hex(absl::string_view data) {
  std::array<uint8_t, 32> digest = Sha256(data);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

bool IsSha256Hex(absl::string_view s) {
  if (s.size() != 64) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string DeterministicBytes(const google::protobuf::MessageLite& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializePartialToCodedStream(&coded);
  }
  return out;
}

std::string CanonicalBundleBytes(const kiln::v1::Bundle& bundle) {
  std::vector<int> order(bundle.files_size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return bundle.files(a).path() < bundle.files(b).path(); });
  if (std::is_sorted(order.begin(), order.end())) return DeterministicBytes(bundle);
  kiln::v1::Bundle sorted;
  sorted.mutable_files()->Reserve(bundle.files_size());
  for (int i : order) *sorted.add_files() = bundle.files(i);
  sorted.set_main_module(bundle.main_module());
  sorted.GetReflection()->MutableUnknownFields(&sorted)->MergeFrom(
      bundle.GetReflection()->GetUnknownFields(bundle));
  return DeterministicBytes(sorted);
}

std::string BundleSha256(const kiln::v1::Bundle& bundle) {
  return Sha256Hex(CanonicalBundleBytes(bundle));
}

}  // namespace kiln::scheduler
