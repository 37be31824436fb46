// valijson reports a broken schema through throwRuntimeError(), which aborts
// unless exceptions are enabled.
#define VALIJSON_USE_EXCEPTIONS 1

#include "channels/amazon/json_schema.hpp"

#include <stdexcept>

#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "channels/amazon/schemas.hpp"

namespace shelfsync::amazon {

struct json_schema::impl {
  valijson::Schema schema;
};

json_schema::json_schema(std::string_view schema_text)
    : impl_(std::make_unique<impl>()) {
  auto doc = nlohmann::json::parse(schema_text.begin(), schema_text.end(),
                                   nullptr, false);
  if (doc.is_discarded())
    throw std::runtime_error("JSON schema is not valid JSON");
  valijson::SchemaParser parser{valijson::SchemaParser::kDraft7};
  valijson::adapters::NlohmannJsonAdapter adapter{doc};
  parser.populateSchema(adapter, impl_->schema);
}

json_schema::~json_schema() = default;

namespace {

// valijson gives a context such as ["<root>", "[messages]", "[3]", "[sku]"];
// a JSON pointer reads better in a report.
std::string to_pointer(const std::vector<std::string>& context) {
  std::string out;
  for (const auto& part : context) {
    if (part == "<root>") continue;
    out += '/';
    if (part.size() >= 2 && part.front() == '[' && part.back() == ']')
      out.append(part, 1, part.size() - 2);
    else
      out += part;
  }
  return out;
}

} // namespace

std::vector<schema_violation>
json_schema::validate(const nlohmann::json& doc) const {
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter adapter{doc};
  std::vector<schema_violation> out;
  if (validator.validate(impl_->schema, adapter, &results)) return out;
  valijson::ValidationResults::Error error;
  while (results.popError(error))
    out.push_back({to_pointer(error.context), error.description});
  return out;
}

const json_schema& json_schema::listings_feed() {
  static const json_schema instance{schemas::listings_feed()};
  return instance;
}

const json_schema& json_schema::listings_feed_message() {
  static const json_schema instance{schemas::listings_feed_message()};
  return instance;
}

const json_schema& json_schema::processing_report() {
  static const json_schema instance{schemas::processing_report()};
  return instance;
}

std::string to_string(const std::vector<schema_violation>& violations,
                      size_t limit) {
  std::string out;
  size_t n = 0;
  for (const auto& v : violations) {
    if (n == limit) {
      out += "; and " + std::to_string(violations.size() - n) + " more";
      break;
    }
    if (n++ > 0) out += "; ";
    out += (v.path.empty() ? "/" : v.path) + ": " + v.message;
  }
  return out;
}

} // namespace shelfsync::amazon
