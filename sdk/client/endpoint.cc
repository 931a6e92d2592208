// Resolution of the Kiln API address and token (endpoint.h).
#include "sdk/client/endpoint.h"

#include <cstdlib>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kiln::sdk {
namespace {

std::optional<std::string> SystemGetenv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

// The file's first line, trimmed; nullopt if it cannot be read or is blank.
std::optional<std::string> ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string line;
  std::getline(in, line);
  std::string trimmed(absl::StripAsciiWhitespace(line));
  if (trimmed.empty()) return std::nullopt;
  return trimmed;
}

std::string JoinPath(const std::string& dir, absl::string_view file) {
  if (dir.empty()) return std::string(file);
  if (absl::EndsWith(dir, "/")) return absl::StrCat(dir, file);
  return absl::StrCat(dir, "/", file);
}

}  // namespace

absl::Status ValidateApiAddress(absl::string_view address) {
  if (absl::StartsWith(address, "unix:")) {
    if (address.size() > 5) return absl::OkStatus();
    return absl::InvalidArgumentError("\"unix:\" needs a socket path, e.g. unix:/run/kiln.sock");
  }
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", address, "\" is not HOST:PORT (", why, "), e.g. 127.0.0.1:7000"));
  };
  size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) return bad("no port");
  absl::string_view host = address.substr(0, colon);
  absl::string_view port = address.substr(colon + 1);
  if (host.empty()) return bad("no host");
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) return bad("an IPv6 host needs [brackets]");
  } else if (host.find(':') != absl::string_view::npos) {
    return bad("an IPv6 host needs [brackets]");
  }
  uint32_t number = 0;
  if (port.empty() || !absl::SimpleAtoi(port, &number) || number > 65535 ||
      port.find_first_not_of("0123456789") != absl::string_view::npos) {
    return bad("the port must be a number from 0 to 65535");
  }
  return absl::OkStatus();
}

absl::StatusOr<Endpoint> ResolveEndpoint(const EndpointInputs& inputs) {
  auto getenv = inputs.getenv ? inputs.getenv : SystemGetenv;
  auto env = [&](const char* name) -> std::optional<std::string> {
    std::optional<std::string> value = getenv(name);
    if (value.has_value() && value->empty()) return std::nullopt;
    return value;
  };
  Endpoint endpoint;
  const std::string addr_file = JoinPath(inputs.data_dir, kApiAddrFile);
  if (!inputs.api_flag.empty()) {
    endpoint.api = inputs.api_flag;
    endpoint.api_source = "--api";
  } else if (std::optional<std::string> value = env("KILN_API")) {
    endpoint.api = *value;
    endpoint.api_source = "KILN_API";
  } else if (std::optional<std::string> value = ReadFirstLine(addr_file)) {
    endpoint.api = *value;
    endpoint.api_source = addr_file;
  } else {
    endpoint.api = std::string(kDefaultApi);
    endpoint.api_source = "default";
  }
  if (absl::Status valid = ValidateApiAddress(endpoint.api); !valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the API address from ", endpoint.api_source, " is bad: ", valid.message()));
  }

  const std::string token_file = JoinPath(inputs.data_dir, kDefaultTokenFile);
  if (!inputs.token_flag.empty()) {
    endpoint.token = inputs.token_flag;
    endpoint.token_source = "--token";
  } else if (std::optional<std::string> value = env("KILN_TOKEN")) {
    endpoint.token = std::string(absl::StripAsciiWhitespace(*value));
    endpoint.token_source = "KILN_TOKEN";
  } else if (std::optional<std::string> value = ReadFirstLine(token_file)) {
    endpoint.token = *value;
    endpoint.token_source = token_file;
  } else {
    endpoint.token_source = "none";
  }
  return endpoint;
}

std::optional<std::string> TenantFromToken(absl::string_view token) {
  constexpr absl::string_view kPrefix = "kiln_";
  constexpr size_t kHexDigits = 64;
  if (!absl::StartsWith(token, kPrefix)) return std::nullopt;
  absl::string_view rest = token.substr(kPrefix.size());
  size_t underscore = rest.rfind('_');
  if (underscore == absl::string_view::npos || underscore == 0) return std::nullopt;
  absl::string_view tenant = rest.substr(0, underscore);
  absl::string_view hex = rest.substr(underscore + 1);
  if (hex.size() != kHexDigits) return std::nullopt;
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  for (char c : tenant) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return std::nullopt;
  }
  return std::string(tenant);
}

}  // namespace kiln::sdk
