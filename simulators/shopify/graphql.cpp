#include "simulators/shopify/graphql.hpp"

#include "simulators/shopify/graphql_lexer.hpp"

#include <cstdint>
#include <cstring>

namespace shelfsync::shopify::graphql {

namespace {

using detail::lexer;
using detail::parse_failure;
using detail::tok;
using detail::token;
using detail::token_name;

// -- parser ------------------------------------------------------------------

class parser {
 public:
  explicit parser(std::string_view src) : lex_(src) { cur_ = lex_.next(); }

  document parse_document() {
    document doc;
    if (cur_.type == tok::end) lex_.fail("Unexpected end of document", cur_.at);
    while (cur_.type != tok::end) {
      if (cur_.type == tok::lbrace) {
        operation op;
        op.at = cur_.at;
        op.selections = parse_selection_set();
        doc.operations.push_back(std::move(op));
      } else if (cur_.type == tok::name &&
                 (cur_.text == "query" || cur_.text == "mutation" ||
                  cur_.text == "subscription")) {
        doc.operations.push_back(parse_operation());
      } else if (cur_.type == tok::name && cur_.text == "fragment") {
        doc.fragments.push_back(parse_fragment());
      } else {
        unexpected();
      }
    }
    return doc;
  }

  type_ref parse_type_ref() {
    type_ref t;
    if (cur_.type == tok::lbracket) {
      advance();
      t.list_of.push_back(parse_type_ref());
      expect(tok::rbracket);
    } else {
      t.name = expect_name();
    }
    if (cur_.type == tok::bang) {
      advance();
      t.non_null = true;
    }
    return t;
  }

  bool at_end() const { return cur_.type == tok::end; }

 private:
  [[noreturn]] void unexpected() {
    if (cur_.type == tok::end) lex_.fail("Unexpected end of document", cur_.at);
    lex_.fail("Parse error on " + quoted(cur_.raw) + " (" +
                  token_name(cur_.type) + ")",
              cur_.at);
  }

  static std::string quoted(const std::string& s) {
    if (!s.empty() && s.front() == '"') return s;
    return "\"" + s + "\"";
  }

  void advance() { cur_ = lex_.next(); }

  void expect(tok t) {
    if (cur_.type != t) unexpected();
    advance();
  }

  std::string expect_name() {
    if (cur_.type != tok::name) unexpected();
    auto s = std::move(cur_.text);
    advance();
    return s;
  }

  bool is_keyword(const char* word) const {
    return cur_.type == tok::name && cur_.text == word;
  }

  operation parse_operation() {
    operation op;
    op.at = cur_.at;
    if (cur_.text == "mutation")
      op.kind = operation_kind::mutation;
    else if (cur_.text == "subscription")
      op.kind = operation_kind::subscription;
    advance();
    if (cur_.type == tok::name) op.name = expect_name();
    if (cur_.type == tok::lparen) {
      advance();
      if (cur_.type == tok::rparen) unexpected();
      while (cur_.type != tok::rparen)
        op.variables.push_back(parse_variable_definition());
      advance();
    }
    op.directives = parse_directives(false);
    op.selections = parse_selection_set();
    return op;
  }

  variable_definition parse_variable_definition() {
    variable_definition def;
    def.at = cur_.at;
    expect(tok::dollar);
    def.name = expect_name();
    expect(tok::colon);
    def.type = parse_type_ref();
    if (cur_.type == tok::equals) {
      advance();
      def.default_value = parse_value(true);
    }
    parse_directives(true);
    return def;
  }

  fragment parse_fragment() {
    fragment f;
    f.at = cur_.at;
    advance();
    if (is_keyword("on")) unexpected();
    f.name = expect_name();
    if (!is_keyword("on")) unexpected();
    advance();
    f.type_condition = expect_name();
    f.directives = parse_directives(false);
    f.selections = parse_selection_set();
    return f;
  }

  std::vector<selection> parse_selection_set() {
    expect(tok::lbrace);
    std::vector<selection> out;
    if (cur_.type == tok::rbrace) unexpected();
    while (cur_.type != tok::rbrace)
      out.push_back(parse_selection());
    advance();
    return out;
  }

  selection parse_selection() {
    selection s;
    s.at = cur_.at;
    if (cur_.type == tok::ellipsis) {
      advance();
      if (cur_.type == tok::name && cur_.text != "on") {
        s.type = selection::kind::fragment_spread;
        s.name = expect_name();
        s.directives = parse_directives(false);
        return s;
      }
      s.type = selection::kind::inline_fragment;
      if (is_keyword("on")) {
        advance();
        s.type_condition = expect_name();
      }
      s.directives = parse_directives(false);
      s.selections = parse_selection_set();
      return s;
    }
    s.type = selection::kind::field;
    s.name = expect_name();
    if (cur_.type == tok::colon) {
      advance();
      s.alias = std::move(s.name);
      s.name = expect_name();
    }
    if (cur_.type == tok::lparen) s.arguments = parse_arguments(false);
    s.directives = parse_directives(false);
    if (cur_.type == tok::lbrace) s.selections = parse_selection_set();
    return s;
  }

  std::vector<argument> parse_arguments(bool is_const) {
    expect(tok::lparen);
    std::vector<argument> out;
    if (cur_.type == tok::rparen) unexpected();
    while (cur_.type != tok::rparen) {
      argument a;
      a.at = cur_.at;
      a.name = expect_name();
      expect(tok::colon);
      a.val = parse_value(is_const);
      out.push_back(std::move(a));
    }
    advance();
    return out;
  }

  std::vector<directive> parse_directives(bool is_const) {
    std::vector<directive> out;
    while (cur_.type == tok::at) {
      directive d;
      d.at = cur_.at;
      advance();
      d.name = expect_name();
      if (cur_.type == tok::lparen) d.arguments = parse_arguments(is_const);
      out.push_back(std::move(d));
    }
    return out;
  }

  value parse_value(bool is_const) {
    value v;
    v.at = cur_.at;
    switch (cur_.type) {
    case tok::dollar:
      if (is_const) unexpected();
      advance();
      v.type = value::kind::variable;
      v.text = expect_name();
      return v;
    case tok::integer:
      v.type = value::kind::integer;
      v.text = cur_.text;
      advance();
      return v;
    case tok::floating:
      v.type = value::kind::floating;
      v.text = cur_.text;
      advance();
      return v;
    case tok::string:
      v.type = value::kind::string;
      v.text = cur_.text;
      advance();
      return v;
    case tok::name:
      if (cur_.text == "true" || cur_.text == "false") {
        v.type = value::kind::boolean;
        v.boolean = cur_.text == "true";
      } else if (cur_.text == "null") {
        v.type = value::kind::null;
      } else {
        v.type = value::kind::enumeration;
        v.text = cur_.text;
      }
      advance();
      return v;
    case tok::lbracket:
      v.type = value::kind::list;
      advance();
      while (cur_.type != tok::rbracket)
        v.items.push_back(parse_value(is_const));
      advance();
      return v;
    case tok::lbrace:
      v.type = value::kind::object;
      advance();
      while (cur_.type != tok::rbrace) {
        auto field_name = expect_name();
        expect(tok::colon);
        v.fields.emplace_back(std::move(field_name), parse_value(is_const));
      }
      advance();
      return v;
    default:
      unexpected();
    }
  }

  lexer lex_;
  token cur_;
};

} // namespace

// -- public functions --------------------------------------------------------

std::string type_ref::to_string() const {
  std::string s = is_list() ? "[" + list_of.front().to_string() + "]" : name;
  if (non_null) s += '!';
  return s;
}

const char* to_string(operation_kind k) {
  switch (k) {
  case operation_kind::query:
    return "query";
  case operation_kind::mutation:
    return "mutation";
  case operation_kind::subscription:
    return "subscription";
  }
  return "query";
}

const fragment* document::find_fragment(std::string_view name) const {
  for (auto& f : fragments)
    if (f.name == name) return &f;
  return nullptr;
}

parse_result parse(std::string_view source) {
  parse_result out;
  try {
    parser p{source};
    out.doc = p.parse_document();
  } catch (parse_failure& f) {
    out.error = std::move(f.error);
  }
  return out;
}

std::optional<type_ref> parse_type(std::string_view text) {
  try {
    parser p{text};
    auto t = p.parse_type_ref();
    if (!p.at_end()) return std::nullopt;
    return t;
  } catch (parse_failure&) {
    return std::nullopt;
  }
}

} // namespace shelfsync::shopify::graphql
