// kiln.toml parsing (kiln_toml.h) on toml++, built without exceptions: parse
// failures come back as a parse_result holding the error.
#include "sdk/client/kiln_toml.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"

namespace kiln::sdk {
namespace {

// toml++ speaks std::string_view; this Abseil's string_view is its own type.
absl::string_view SV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Edit distance, for "did you mean".
size_t Distance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

const char* TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a number with a fraction";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

// Reads one kiln.toml; each method reports errors as "origin:line:col: ...".
class Parser {
 public:
  explicit Parser(absl::string_view origin) : origin_(origin) {}

  absl::Status Error(const toml::source_region& where, absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(origin_, ":", where.begin.line, ":", where.begin.column, ": ", what));
  }

  // Rejects keys of `table` not in `known`. `prefix` is the dotted path of the
  // table ("limits."), for the message.
  absl::Status CheckKeys(const toml::table& table, absl::string_view prefix,
                         const std::vector<absl::string_view>& known) const {
    for (auto&& [key, node] : table) {
      absl::string_view name = SV(key.str());
      if (std::find(known.begin(), known.end(), name) != known.end()) continue;
      std::string hint;
      size_t best = 3;
      for (absl::string_view candidate : known) {
        // A near miss, or a truncated or over-long spelling ("cpu" for "cpu_ms").
        size_t d = Distance(absl::AsciiStrToLower(name), candidate);
        if (name.size() >= 3 &&
            (absl::StartsWith(candidate, name) || absl::StartsWith(name, candidate))) {
          d = std::min<size_t>(d, 2);
        }
        if (d < best) {
          best = d;
          hint = absl::StrCat(" (did you mean \"", prefix, candidate, "\"?)");
        }
      }
      return Error(
          key.source(),
          absl::StrCat(
              "unknown key \"", prefix, name, "\"", hint, "; known keys",
              prefix.empty() ? "" : absl::StrCat(" in [", absl::StripSuffix(prefix, "."), "]"),
              ": ", absl::StrJoin(known, ", ")));
    }
    return absl::OkStatus();
  }

  absl::Status WrongType(const toml::node& node, absl::string_view key, absl::string_view wanted,
                         absl::string_view example) const {
    return Error(node.source(), absl::StrCat("\"", key, "\" must be ", wanted, ", not ",
                                             TypeName(node), ", e.g. ", example));
  }

  absl::StatusOr<std::string> String(const toml::node& node, absl::string_view key,
                                     absl::string_view example) const {
    if (!node.is_string()) return WrongType(node, key, "a string", example);
    return std::string(node.as_string()->get());
  }

  absl::StatusOr<bool> Bool(const toml::node& node, absl::string_view key) const {
    if (!node.is_boolean()) {
      return WrongType(node, key, "true or false", absl::StrCat(key, " = true"));
    }
    return node.as_boolean()->get();
  }

  // An integer in [min, max]. Zero is never written: leaving the key out
  // means the platform default.
  absl::StatusOr<uint64_t> Integer(const toml::node& node, absl::string_view key, int64_t min,
                                   int64_t max) const {
    if (!node.is_integer()) {
      return WrongType(node, key, "a whole number",
                       absl::StrCat(key, " = ", std::max<int64_t>(min, 1)));
    }
    int64_t value = node.as_integer()->get();
    if (value < min || value > max) {
      std::string default_hint = min > 0 ? "; leave it out for the platform default" : "";
      return Error(node.source(), absl::StrCat("\"", key, "\" is ", value, "; it must be from ",
                                               min, " to ", max, default_hint));
    }
    return static_cast<uint64_t>(value);
  }

  absl::StatusOr<std::vector<std::string>> StringArray(const toml::node& node,
                                                       absl::string_view key,
                                                       absl::string_view example) const {
    if (!node.is_array()) return WrongType(node, key, "an array of strings", example);
    std::vector<std::string> out;
    for (const toml::node& element : *node.as_array()) {
      if (!element.is_string()) {
        return Error(element.source(), absl::StrCat("\"", key, "\" must hold only strings, not ",
                                                    TypeName(element), ", e.g. ", example));
      }
      out.push_back(std::string(element.as_string()->get()));
    }
    return out;
  }

  absl::Status Limits(const toml::node& node, kiln::v1::Limits& limits) const {
    if (!node.is_table()) return WrongType(node, "limits", "a table", "[limits] cpu_ms = 50");
    const toml::table& table = *node.as_table();
    KILN_RETURN_IF_ERROR(CheckKeys(
        table, "limits.",
        {"cpu_ms", "wall_ms", "heap_mb", "request_body_mb", "response_body_mb", "wait_until_ms"}));
    constexpr int64_t kU32 = std::numeric_limits<uint32_t>::max();
    constexpr int64_t kMaxMb = 1 << 20;  // 1 TiB: keeps the byte count far from overflow
    constexpr uint64_t kMiB = 1024 * 1024;
    for (auto&& [key, value] : table) {
      std::string name = absl::StrCat("limits.", SV(key.str()));
      absl::string_view k = SV(key.str());
      if (k == "cpu_ms") {
        KILN_ASSIGN_OR_RETURN(uint64_t v, Integer(value, name, 1, 30000));
        limits.set_cpu_ms(static_cast<uint32_t>(v));
      } else if (k == "wall_ms") {
        KILN_ASSIGN_OR_RETURN(uint64_t v, Integer(value, name, 1, kU32));
        limits.set_wall_ms(static_cast<uint32_t>(v));
      } else if (k == "heap_mb") {
        KILN_ASSIGN_OR_RETURN(uint64_t v, Integer(value, name, 1, kMaxMb));
        limits.set_heap_bytes(v * kMiB);
      } else if (k == "request_body_mb") {
        KILN_ASSIGN_OR_RETURN(uint64_t v, Integer(value, name, 1, kMaxMb));
        limits.set_request_body_bytes(v * kMiB);
      } else if (k == "response_body_mb") {
        KILN_ASSIGN_OR_RETURN(uint64_t v, Integer(value, name, 1, kMaxMb));
        limits.set_response_body_bytes(v * kMiB);
      } else if (k == "wait_until_ms") {
        KILN_ASSIGN_OR_RETURN(uint64_t v, Integer(value, name, 1, kU32));
        limits.set_wait_until_ms(static_cast<uint32_t>(v));
      }
    }
    return absl::OkStatus();
  }

  absl::Status Vars(const toml::node& node, kiln::v1::FunctionConfig& config) const {
    if (!node.is_table()) return WrongType(node, "vars", "a table", "[vars] GREETING = \"hi\"");
    for (auto&& [key, value] : *node.as_table()) {
      std::string name(key.str());
      if (!value.is_string()) {
        return Error(
            value.source(),
            absl::StrCat("vars.", name, " is ", TypeName(value),
                         "; vars are strings — quote the value, e.g. ", name, " = \"",
                         value.is_integer() ? std::to_string(value.as_integer()->get()) : "...",
                         "\""));
      }
      (*config.mutable_vars())[name] = std::string(value.as_string()->get());
    }
    return absl::OkStatus();
  }

  absl::Status Queues(const toml::node& node, kiln::v1::FunctionConfig& config) const {
    constexpr absl::string_view kExample = "[[queues.consumers]] queue = \"jobs\"";
    if (!node.is_table()) return WrongType(node, "queues", "a table", kExample);
    const toml::table& table = *node.as_table();
    KILN_RETURN_IF_ERROR(CheckKeys(table, "queues.", {"consumers"}));
    const toml::node* consumers = table.get("consumers");
    if (consumers == nullptr) return absl::OkStatus();
    if (!consumers->is_array()) {
      return WrongType(*consumers, "queues.consumers", "an array of tables", kExample);
    }
    for (const toml::node& element : *consumers->as_array()) {
      if (!element.is_table()) {
        return WrongType(element, "queues.consumers", "an array of tables", kExample);
      }
      const toml::table& entry = *element.as_table();
      KILN_RETURN_IF_ERROR(CheckKeys(
          entry, "queues.consumers.",
          {"queue", "max_batch_size", "max_batch_timeout_ms", "max_retries", "dead_letter_queue"}));
      kiln::v1::QueueConsumer* consumer = config.add_queue_consumers();
      constexpr int64_t kU32 = std::numeric_limits<uint32_t>::max();
      for (auto&& [key, value] : entry) {
        std::string name = absl::StrCat("queues.consumers.", SV(key.str()));
        absl::string_view k = SV(key.str());
        if (k == "queue") {
          KILN_ASSIGN_OR_RETURN(std::string v, String(value, name, "queue = \"jobs\""));
          consumer->set_queue(v);
        } else if (k == "max_batch_size") {
          KILN_ASSIGN_OR_RETURN(uint64_t v, Integer(value, name, 1, kU32));
          consumer->set_max_batch_size(static_cast<uint32_t>(v));
        } else if (k == "max_batch_timeout_ms") {
          KILN_ASSIGN_OR_RETURN(uint64_t v, Integer(value, name, 1, kU32));
          consumer->set_max_batch_timeout_ms(static_cast<uint32_t>(v));
        } else if (k == "max_retries") {
          KILN_ASSIGN_OR_RETURN(uint64_t v, Integer(value, name, 1, kU32));
          consumer->set_max_retries(static_cast<uint32_t>(v));
        } else if (k == "dead_letter_queue") {
          KILN_ASSIGN_OR_RETURN(std::string v,
                                String(value, name, "dead_letter_queue = \"jobs-failed\""));
          consumer->set_dead_letter_queue(v);
        }
      }
      if (consumer->queue().empty()) {
        return Error(element.source(),
                     "a [[queues.consumers]] entry needs the queue it consumes, e.g. "
                     "queue = \"jobs\"");
      }
    }
    return absl::OkStatus();
  }

  absl::Status Cron(const toml::node& node, absl::string_view key,
                    kiln::v1::FunctionConfig& config) const {
    KILN_ASSIGN_OR_RETURN(std::string cron, String(node, key, "cron = \"*/5 * * * *\""));
    std::vector<absl::string_view> fields =
        absl::StrSplit(cron, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() != 5) {
      return Error(node.source(),
                   absl::StrCat("cron \"", cron, "\" has ", fields.size(),
                                " fields; write five (minute hour day-of-month month "
                                "day-of-week, UTC), e.g. \"*/5 * * * *\""));
    }
    config.add_crons()->set_cron(absl::StrJoin(fields, " "));
    return absl::OkStatus();
  }

  absl::Status Triggers(const toml::node& node, kiln::v1::FunctionConfig& config) const {
    constexpr absl::string_view kExample = "[[triggers.crons]] cron = \"0 * * * *\"";
    if (!node.is_table()) return WrongType(node, "triggers", "a table", kExample);
    const toml::table& table = *node.as_table();
    KILN_RETURN_IF_ERROR(CheckKeys(table, "triggers.", {"crons"}));
    const toml::node* crons = table.get("crons");
    if (crons == nullptr) return absl::OkStatus();
    if (!crons->is_array()) {
      return WrongType(*crons, "triggers.crons", "an array of tables or of strings", kExample);
    }
    // Both spellings: `[[triggers.crons]] cron = "..."` and `crons = ["..."]`.
    for (const toml::node& element : *crons->as_array()) {
      if (element.is_string()) {
        KILN_RETURN_IF_ERROR(Cron(element, "triggers.crons", config));
      } else if (element.is_table()) {
        const toml::table& entry = *element.as_table();
        KILN_RETURN_IF_ERROR(CheckKeys(entry, "triggers.crons.", {"cron"}));
        const toml::node* cron = entry.get("cron");
        if (cron == nullptr) {
          return Error(element.source(),
                       "a [[triggers.crons]] entry needs a cron expression, e.g. "
                       "cron = \"0 * * * *\"");
        }
        KILN_RETURN_IF_ERROR(Cron(*cron, "triggers.crons.cron", config));
      } else {
        return WrongType(element, "triggers.crons", "an array of tables or of strings", kExample);
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<FunctionManifest> Parse(absl::string_view text) const {
    toml::parse_result result = toml::parse(std::string_view(text.data(), text.size()),
                                            std::string_view(origin_.data(), origin_.size()));
    if (!result) {
      const toml::parse_error& error = result.error();
      return Error(error.source(), absl::StrCat("not valid TOML: ", SV(error.description()),
                                                " (see https://toml.io for the syntax)"));
    }
    const toml::table& root = result.table();
    KILN_RETURN_IF_ERROR(
        CheckKeys(root, "",
                  {"name", "main", "routes", "vars", "secrets", "allow_eval", "allow_wasm_codegen",
                   "exclude", "limits", "queues", "triggers"}));
    FunctionManifest manifest;
    kiln::v1::FunctionConfig& config = manifest.config;
    for (auto&& [key, value] : root) {
      absl::string_view k = SV(key.str());
      if (k == "name") {
        KILN_ASSIGN_OR_RETURN(manifest.name, String(value, k, "name = \"hello\""));
      } else if (k == "main") {
        KILN_ASSIGN_OR_RETURN(std::string main, String(value, k, "main = \"index.js\""));
        absl::string_view trimmed = main;
        while (absl::ConsumePrefix(&trimmed, "./")) {
        }
        if (trimmed.empty()) {
          return Error(value.source(),
                       "\"main\" is empty; name the entry module, e.g. main = \"index.js\"");
        }
        manifest.main = std::string(trimmed);
      } else if (k == "routes") {
        KILN_ASSIGN_OR_RETURN(std::vector<std::string> routes,
                              StringArray(value, k, "routes = [\"api.example.com/v1/*\"]"));
        for (std::string& route : routes) config.add_routes()->set_pattern(std::move(route));
      } else if (k == "vars") {
        KILN_RETURN_IF_ERROR(Vars(value, config));
      } else if (k == "secrets") {
        KILN_ASSIGN_OR_RETURN(std::vector<std::string> names,
                              StringArray(value, k, "secrets = [\"API_KEY\"]"));
        for (std::string& name : names) config.add_secret_names(std::move(name));
      } else if (k == "allow_eval") {
        KILN_ASSIGN_OR_RETURN(bool v, Bool(value, k));
        config.set_allow_eval(v);
      } else if (k == "allow_wasm_codegen") {
        KILN_ASSIGN_OR_RETURN(bool v, Bool(value, k));
        config.set_allow_wasm_codegen(v);
      } else if (k == "exclude") {
        KILN_ASSIGN_OR_RETURN(manifest.exclude,
                              StringArray(value, k, "exclude = [\"test/**\", \"*.md\"]"));
      } else if (k == "limits") {
        KILN_RETURN_IF_ERROR(Limits(value, *config.mutable_limits()));
      } else if (k == "queues") {
        KILN_RETURN_IF_ERROR(Queues(value, config));
      } else if (k == "triggers") {
        KILN_RETURN_IF_ERROR(Triggers(value, config));
      }
    }
    return manifest;
  }

 private:
  std::string origin_;
};

}  // namespace

absl::StatusOr<FunctionManifest> ParseKilnToml(absl::string_view text, absl::string_view origin) {
  return Parser(origin).Parse(text);
}

}  // namespace kiln::sdk
