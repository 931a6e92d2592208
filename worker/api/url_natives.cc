// URL natives on ada's C interface. Stateless: each call parses what it is
// given and returns href with its component offsets; JavaScript keeps those.
#include "worker/api/url_natives.h"

#include <array>
#include <string>

#include "third_party/v8/ada_c.h"

namespace kiln::worker::api {
namespace {

using js::NativeCall;

// Returns [href, protocol_end, username_end, host_start, host_end, port,
// pathname_start, search_start, hash_start] (offsets into href, which is
// ASCII, so they are also UTF-16 indices; 4294967295 when absent).
void ReturnUrl(NativeCall& call, ada_url url) {
  ada_string href = ada_get_href(url);
  const ada_url_components* c = ada_get_components(url);
  const std::array<double, 8> numbers = {
      static_cast<double>(c->protocol_end),   static_cast<double>(c->username_end),
      static_cast<double>(c->host_start),     static_cast<double>(c->host_end),
      static_cast<double>(c->port),           static_cast<double>(c->pathname_start),
      static_cast<double>(c->search_start),   static_cast<double>(c->hash_start)};
  call.ReturnStringAndNumbers(absl::string_view(href.data, href.length), numbers);
}

// natives.urlParse(input[, base]) -> the URL tuple, or null when it does not parse.
void UrlParse(NativeCall& call) {
  const std::string input = call.String(0);
  ada_url url;
  if (call.Length() > 1) {
    const std::string base = call.String(1);
    url = ada_parse_with_base(input.data(), input.size(), base.data(), base.size());
  } else {
    url = ada_parse(input.data(), input.size());
  }
  if (ada_is_valid(url)) {
    ReturnUrl(call, url);
  } else {
    call.ReturnNull();
  }
  ada_free(url);
}

// natives.urlCanParse(input[, base]) -> boolean
void UrlCanParse(NativeCall& call) {
  const std::string input = call.String(0);
  if (call.Length() > 1) {
    const std::string base = call.String(1);
    call.ReturnBool(ada_can_parse_with_base(input.data(), input.size(), base.data(), base.size()));
  } else {
    call.ReturnBool(ada_can_parse(input.data(), input.size()));
  }
}

// natives.urlSet(href, component, value) -> the URL tuple after the URL
// Standard's setter for `component` (0 href, 1 protocol, 2 username,
// 3 password, 4 host, 5 hostname, 6 port, 7 pathname, 8 search, 9 hash), or
// null when the setter refuses the value.
void UrlSet(NativeCall& call) {
  const std::string href = call.String(0);
  const int component = static_cast<int>(call.Number(1));
  const std::string value = call.String(2);
  ada_url url = ada_parse(href.data(), href.size());
  bool ok = ada_is_valid(url);
  if (ok) {
    const char* data = value.data();
    const size_t size = value.size();
    switch (component) {
      case 0: ok = ada_set_href(url, data, size); break;
      case 1: ok = ada_set_protocol(url, data, size); break;
      case 2: ok = ada_set_username(url, data, size); break;
      case 3: ok = ada_set_password(url, data, size); break;
      case 4: ok = ada_set_host(url, data, size); break;
      case 5: ok = ada_set_hostname(url, data, size); break;
      case 6: ok = ada_set_port(url, data, size); break;
      case 7: ok = ada_set_pathname(url, data, size); break;
      case 8: ada_set_search(url, data, size); break;
      case 9: ada_set_hash(url, data, size); break;
      default: ok = false;
    }
  }
  if (ok) {
    ReturnUrl(call, url);
  } else {
    call.ReturnNull();
  }
  ada_free(url);
}

// natives.urlOrigin(href) -> the serialized origin ("null" for opaque ones)
void UrlOrigin(NativeCall& call) {
  const std::string href = call.String(0);
  ada_url url = ada_parse(href.data(), href.size());
  if (!ada_is_valid(url)) {
    ada_free(url);
    call.ReturnString("null");
    return;
  }
  ada_owned_string origin = ada_get_origin(url);
  call.ReturnString(absl::string_view(origin.data, origin.length));
  ada_free_owned_string(origin);
  ada_free(url);
}

}  // namespace

std::vector<js::NativeBinding> UrlNatives() {
  return {
      {"urlParse", UrlParse},
      {"urlCanParse", UrlCanParse},
      {"urlSet", UrlSet},
      {"urlOrigin", UrlOrigin},
  };
}

}  // namespace kiln::worker::api
