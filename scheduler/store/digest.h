// Content hashing for the deploy flow: a bundle's identity is the SHA-256 of its
// canonical serialization, the key it is stored under and checked against on
// every read. No RocksDB here; the scheduler may call these before committing.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "kiln/v1/common.pb.h"

namespace kiln::scheduler {

// SHA-256 of `data`, raw (32 bytes) or as 64 lowercase hex digits.
std::array<uint8_t, 32> Sha256(absl::string_view data);
std::string Sha256Hex(absl::string_view data);

// True if `s` is 64 lowercase hex digits, the form every bundle hash takes.
bool IsSha256Hex(absl::string_view s);

// The bytes a bundle is stored as: its files sorted by path, serialized
// deterministically. Two bundles with the same files in any order have the
// same canonical bytes (and so the same hash), and parsing the canonical bytes
// gives back the sorted bundle. Unknown fields are kept.
std::string CanonicalBundleBytes(const kiln::v1::Bundle& bundle);

// Sha256Hex(CanonicalBundleBytes(bundle)): the bundle's content address, as in
// DeployResponse.bundle_sha256 and VersionRecord::bundle_sha256.
std::string BundleSha256(const kiln::v1::Bundle& bundle);

// Deterministic serialization of any message (stable map order), the form
// configs are stored in.
std::string DeterministicBytes(const google::protobuf::MessageLite& message);

}  // namespace kiln::scheduler
