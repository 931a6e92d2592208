// Where the kiln CLI and SDK programs find the Kiln API and the tenant token:
// flags, then the environment, then the files `kiln up` writes into its data
// dir, then the built-in default. Pure lookups; nothing is dialed here.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kiln::sdk {

// Where `kiln up` listens unless told otherwise.
inline constexpr absl::string_view kDefaultApi = "127.0.0.1:7000";
// The data dir `kiln up` uses unless told otherwise, relative to the cwd.
inline constexpr absl::string_view kDefaultDataDir = ".kiln";
// Files the scheduler writes into its data dir.
inline constexpr absl::string_view kApiAddrFile = "api.addr";
inline constexpr absl::string_view kDefaultTokenFile = "default.token";
// The tenant a token that does not name one is assumed to belong to.
inline constexpr absl::string_view kDefaultTenant = "default";

// What the caller was given; empty strings mean "not given".
struct EndpointInputs {
  std::string api_flag;    // --api
  std::string token_flag;  // --token
  std::string data_dir = std::string(kDefaultDataDir);
  // Reads an environment variable; nullopt when unset. Defaults to getenv.
  std::function<std::optional<std::string>(const char* name)> getenv;
};

// The resolved address and token, and where each came from ("--api",
// "KILN_API", ".kiln/api.addr", "default"; "--token", "KILN_TOKEN",
// ".kiln/default.token", "none") so error messages can name the source.
struct Endpoint {
  std::string api;
  std::string api_source;
  std::string token;  // empty when no source had one
  std::string token_source;
};

// Resolves the API address, first match wins:
//   --api, KILN_API, <data_dir>/api.addr (first line, trimmed), 127.0.0.1:7000;
// and the token:
//   --token, KILN_TOKEN, <data_dir>/default.token (trimmed), none.
// An empty environment variable counts as unset. InvalidArgument when the
// chosen address is not HOST:PORT (or unix:PATH), naming its source.
absl::StatusOr<Endpoint> ResolveEndpoint(const EndpointInputs& inputs);

// OK for "HOST:PORT" (HOST a name, IPv4, or [IPv6]; PORT 0..65535) and for
// "unix:PATH"; InvalidArgument otherwise.
absl::Status ValidateApiAddress(absl::string_view address);

// The tenant a token names: tokens look like "kiln_<tenant>_<64 hex digits>"
// (see scheduler/store/token.h). nullopt for any other shape.
std::optional<std::string> TenantFromToken(absl::string_view token);

}  // namespace kiln::sdk
