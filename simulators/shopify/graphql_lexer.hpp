#pragma once

// The tokenizer of graphql.cpp's parser: GraphQL's lexical grammar (names,
// numbers, strings with escapes and block strings, punctuators, comments and
// commas as whitespace). Internal to the parser.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "simulators/shopify/graphql.hpp"

namespace shelfsync::shopify::graphql::detail {

// -- tokens ------------------------------------------------------------------

enum class tok {
  end,
  bang,
  dollar,
  amp,
  lparen,
  rparen,
  ellipsis,
  colon,
  equals,
  at,
  lbracket,
  rbracket,
  lbrace,
  pipe,
  rbrace,
  name,
  integer,
  floating,
  string,
};

/// graphql-ruby's token names, used in its parse error messages.
inline const char* token_name(tok t) {
  switch (t) {
  case tok::end:
    return "EOF";
  case tok::bang:
    return "BANG";
  case tok::dollar:
    return "VAR_SIGN";
  case tok::amp:
    return "AMP";
  case tok::lparen:
    return "LPAREN";
  case tok::rparen:
    return "RPAREN";
  case tok::ellipsis:
    return "ELLIPSIS";
  case tok::colon:
    return "COLON";
  case tok::equals:
    return "EQUALS";
  case tok::at:
    return "DIR_SIGN";
  case tok::lbracket:
    return "LBRACKET";
  case tok::rbracket:
    return "RBRACKET";
  case tok::lbrace:
    return "LCURLY";
  case tok::pipe:
    return "PIPE";
  case tok::rbrace:
    return "RCURLY";
  case tok::name:
    return "IDENTIFIER";
  case tok::integer:
    return "INT";
  case tok::floating:
    return "FLOAT";
  case tok::string:
    return "STRING";
  }
  return "UNKNOWN";
}

struct token {
  tok type = tok::end;
  /// Raw lexeme (names, numbers, punctuators) or decoded string contents.
  std::string text;
  /// The source text, for error messages.
  std::string raw;
  position at;
};

/// Thrown inside the parser; caught once in parse().
struct parse_failure {
  syntax_error error;
};

inline std::string located(const std::string& what, position at) {
  return what + " at [" + std::to_string(at.line) + ", " +
         std::to_string(at.column) + "]";
}

// -- lexer -------------------------------------------------------------------

class lexer {
 public:
  explicit lexer(std::string_view src) : src_(src) {
    if (src_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
  }

  token next() {
    skip_ignored();
    token t;
    t.at = here();
    if (pos_ >= src_.size()) {
      t.type = tok::end;
      return t;
    }
    auto start = pos_;
    char c = src_[pos_];
    auto punct = [&](tok type, size_t len) {
      t.type = type;
      pos_ += len;
      t.text = t.raw = std::string{src_.substr(start, len)};
      return t;
    };
    switch (c) {
    case '!':
      return punct(tok::bang, 1);
    case '$':
      return punct(tok::dollar, 1);
    case '&':
      return punct(tok::amp, 1);
    case '(':
      return punct(tok::lparen, 1);
    case ')':
      return punct(tok::rparen, 1);
    case ':':
      return punct(tok::colon, 1);
    case '=':
      return punct(tok::equals, 1);
    case '@':
      return punct(tok::at, 1);
    case '[':
      return punct(tok::lbracket, 1);
    case ']':
      return punct(tok::rbracket, 1);
    case '{':
      return punct(tok::lbrace, 1);
    case '|':
      return punct(tok::pipe, 1);
    case '}':
      return punct(tok::rbrace, 1);
    case '.':
      if (src_.substr(pos_, 3) == "...") return punct(tok::ellipsis, 3);
      fail("Parse error on \".\" (UNKNOWN_CHAR)", t.at);
    case '"':
      return lex_string(t);
    default:
      break;
    }
    if (is_name_start(c)) {
      while (pos_ < src_.size() && is_name_char(src_[pos_]))
        ++pos_;
      t.type = tok::name;
      t.text = t.raw = std::string{src_.substr(start, pos_ - start)};
      return t;
    }
    if (c == '-' || is_digit(c)) return lex_number(t);
    std::string ch(1, c);
    fail("Parse error on \"" + ch + "\" (UNKNOWN_CHAR)", t.at);
  }

  [[noreturn]] void fail(const std::string& what, position at) const {
    throw parse_failure{{located(what, at), at}};
  }

 private:
  static bool is_name_start(char c) {
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  }
  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  static bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

  position here() const {
    return {line_, static_cast<int>(pos_ - line_start_) + 1};
  }

  void newline_at(size_t next_pos) {
    ++line_;
    line_start_ = next_pos;
  }

  void skip_ignored() {
    while (pos_ < src_.size()) {
      char c = src_[pos_];
      if (c == ' ' || c == '\t' || c == ',') {
        ++pos_;
      } else if (c == '\n') {
        ++pos_;
        newline_at(pos_);
      } else if (c == '\r') {
        ++pos_;
        if (pos_ < src_.size() && src_[pos_] == '\n') ++pos_;
        newline_at(pos_);
      } else if (c == '#') {
        while (pos_ < src_.size() && src_[pos_] != '\n' && src_[pos_] != '\r')
          ++pos_;
      } else {
        return;
      }
    }
  }

  token lex_number(token& t) {
    auto start = pos_;
    bool is_float = false;
    if (src_[pos_] == '-') ++pos_;
    auto digits = [&] {
      auto from = pos_;
      while (pos_ < src_.size() && is_digit(src_[pos_]))
        ++pos_;
      return pos_ - from;
    };
    if (digits() == 0) fail("Parse error on \"-\" (UNKNOWN_CHAR)", t.at);
    if (pos_ < src_.size() && src_[pos_] == '.') {
      is_float = true;
      ++pos_;
      if (digits() == 0) fail("Parse error on bad number", t.at);
    }
    if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      is_float = true;
      ++pos_;
      if (pos_ < src_.size() && (src_[pos_] == '+' || src_[pos_] == '-'))
        ++pos_;
      if (digits() == 0) fail("Parse error on bad number", t.at);
    }
    t.type = is_float ? tok::floating : tok::integer;
    t.text = t.raw = std::string{src_.substr(start, pos_ - start)};
    return t;
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  uint32_t hex4(position at) {
    if (pos_ + 4 > src_.size())
      fail("Parse error on bad Unicode escape sequence", at);
    uint32_t cp = 0;
    for (int i = 0; i < 4; ++i) {
      char h = src_[pos_++];
      cp <<= 4;
      if (h >= '0' && h <= '9')
        cp |= static_cast<uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f')
        cp |= static_cast<uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        cp |= static_cast<uint32_t>(h - 'A' + 10);
      else
        fail("Parse error on bad Unicode escape sequence", at);
    }
    return cp;
  }

  token lex_string(token& t) {
    auto start = pos_;
    if (src_.substr(pos_, 3) == "\"\"\"") return lex_block_string(t);
    ++pos_;
    std::string out;
    for (;;) {
      if (pos_ >= src_.size() || src_[pos_] == '\n' || src_[pos_] == '\r')
        fail("Parse error on unterminated string", t.at);
      char c = src_[pos_];
      if (c == '"') {
        ++pos_;
        break;
      }
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      auto esc_at = here();
      ++pos_;
      if (pos_ >= src_.size()) fail("Parse error on unterminated string", t.at);
      char e = src_[pos_++];
      switch (e) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        uint32_t cp = hex4(esc_at);
        if (cp >= 0xD800 && cp <= 0xDBFF && src_.substr(pos_, 2) == "\\u") {
          auto save = pos_;
          pos_ += 2;
          uint32_t lo = hex4(esc_at);
          if (lo >= 0xDC00 && lo <= 0xDFFF)
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          else
            pos_ = save;
        }
        append_utf8(out, cp);
        break;
      }
      default:
        fail("Parse error on bad escape sequence \"\\" + std::string(1, e) +
                 "\"",
             esc_at);
      }
    }
    t.type = tok::string;
    t.text = std::move(out);
    t.raw = std::string{src_.substr(start, pos_ - start)};
    return t;
  }

  token lex_block_string(token& t) {
    auto start = pos_;
    pos_ += 3;
    std::string raw_body;
    for (;;) {
      if (pos_ >= src_.size()) fail("Parse error on unterminated string", t.at);
      if (src_.substr(pos_, 3) == "\"\"\"") {
        pos_ += 3;
        break;
      }
      if (src_.substr(pos_, 4) == "\\\"\"\"") {
        raw_body += "\"\"\"";
        pos_ += 4;
        continue;
      }
      char c = src_[pos_++];
      if (c == '\n') newline_at(pos_);
      raw_body += c;
    }
    t.type = tok::string;
    t.text = block_string_value(raw_body);
    t.raw = std::string{src_.substr(start, pos_ - start)};
    return t;
  }

  /// The spec's BlockStringValue: common indentation and blank first and
  /// last lines removed.
  static std::string block_string_value(const std::string& raw) {
    std::vector<std::string> lines;
    std::string cur;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\r' || raw[i] == '\n') {
        if (raw[i] == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n') ++i;
        lines.push_back(cur);
        cur.clear();
      } else {
        cur += raw[i];
      }
    }
    lines.push_back(cur);
    auto indent_of = [](const std::string& l) {
      size_t n = 0;
      while (n < l.size() && (l[n] == ' ' || l[n] == '\t'))
        ++n;
      return n;
    };
    size_t common = std::string::npos;
    for (size_t i = 1; i < lines.size(); ++i) {
      auto n = indent_of(lines[i]);
      if (n < lines[i].size() && n < common) common = n;
    }
    if (common != std::string::npos)
      for (size_t i = 1; i < lines.size(); ++i)
        lines[i].erase(0, std::min(common, lines[i].size()));
    auto blank = [&](const std::string& l) {
      return indent_of(l) == l.size();
    };
    while (!lines.empty() && blank(lines.front()))
      lines.erase(lines.begin());
    while (!lines.empty() && blank(lines.back()))
      lines.pop_back();
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i > 0) out += '\n';
      out += lines[i];
    }
    return out;
  }

  std::string_view src_;
  size_t pos_ = 0;
  int line_ = 1;
  size_t line_start_ = 0;
};

} // namespace shelfsync::shopify::graphql::detail
