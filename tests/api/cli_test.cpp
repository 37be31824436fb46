// The shelfsync command line, run as a real process: exit codes, messages,
// and what import leaves behind.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace {

struct cli_test : ::testing::Test {
  std::string dir = (std::filesystem::temp_directory_path() /
                     ("shelfsync-cli-" + std::to_string(::getpid())))
                        .string();
  std::string out;

  void SetUp() override {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    write("config.json", R"({"node": {"data_dir": ")" + dir + R"(/data"},
                             "warehouses": [{"id": "WH-A"}], "shops": []})");
  }

  void TearDown() override { std::filesystem::remove_all(dir); }

  void write(const std::string& name, const std::string& text) {
    std::ofstream{dir + "/" + name} << text;
  }

  /// Runs shelfsync with `args`; returns its exit code, output in `out`.
  int run(const std::string& args) {
    const char* bin = std::getenv("SHELFSYNC_BIN");
    EXPECT_NE(bin, nullptr) << "SHELFSYNC_BIN names the shelfsync binary";
    auto cmd = std::string{bin} + " " + args + " >" + dir + "/out 2>&1";
    auto status = std::system(cmd.c_str());
    std::stringstream text;
    text << std::ifstream{dir + "/out"}.rdbuf();
    out = text.str();
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string config() const { return "--config " + dir + "/config.json"; }
};

} // namespace

TEST_F(cli_test, check_config_accepts_a_good_file) {
  EXPECT_EQ(run("check-config " + config()), 0) << out;
  EXPECT_NE(out.find("ok (1 warehouses, 0 shops)"), std::string::npos) << out;
}

TEST_F(cli_test, check_config_prints_every_problem_with_its_path) {
  write("bad.json", R"({"warehouses": [{"id": ""}], "shops": [{"id": "x"}]})");
  EXPECT_EQ(run("check-config --config " + dir + "/bad.json"), 1);
  EXPECT_NE(out.find("$.warehouses[0].id"), std::string::npos) << out;
  EXPECT_NE(out.find("$.shops[0]"), std::string::npos) << out;
}

TEST_F(cli_test, usage_errors_exit_2) {
  EXPECT_EQ(run("import " + config()), 2);
  EXPECT_EQ(run("no-such-command"), 2);
  EXPECT_EQ(run("serve --help"), 0);
  EXPECT_NE(out.find("--config"), std::string::npos);
}

TEST_F(cli_test, import_loads_a_file_durably_and_exactly_once) {
  write(
      "good.ndjson",
      "{\"id\":\"a\",\"product\":\"p\",\"warehouse\":\"WH-A\",\"on_hand\":5}\n"
      "\n"
      "{\"id\":\"b\",\"product\":\"p\",\"warehouse\":\"WH-A\",\"delta\":-2}\n");
  EXPECT_EQ(run("import " + config() + " " + dir + "/good.ndjson"), 0) << out;
  EXPECT_NE(out.find("imported 2 events (0 duplicates)"), std::string::npos)
      << out;
  // The ids survived the process: a second import changes nothing.
  EXPECT_EQ(run("import " + config() + " " + dir + "/good.ndjson"), 0) << out;
  EXPECT_NE(out.find("imported 0 events (2 duplicates)"), std::string::npos)
      << out;
}

TEST_F(cli_test, a_bad_file_imports_nothing_and_says_where) {
  write(
      "bad.ndjson",
      "{\"id\":\"c\",\"product\":\"p\",\"warehouse\":\"WH-A\",\"on_hand\":5}\n"
      "{\"id\":\"d\",\"product\":\"p\",\"warehouse\":\"WH-Q\",\"delta\":1}\n");
  EXPECT_EQ(run("import " + config() + " " + dir + "/bad.ndjson"), 1);
  EXPECT_NE(out.find("line 2"), std::string::npos) << out;
  EXPECT_NE(out.find("field \"warehouse\""), std::string::npos) << out;
  EXPECT_NE(out.find("nothing was imported"), std::string::npos) << out;
  // Event "c" of the refused file was not applied: it is new now.
  write("fixed.ndjson", "{\"id\":\"c\",\"product\":\"p\",\"warehouse\":\"WH-"
                        "A\",\"on_hand\":5}\n");
  EXPECT_EQ(run("import " + config() + " " + dir + "/fixed.ndjson"), 0) << out;
  EXPECT_NE(out.find("imported 1 events (0 duplicates)"), std::string::npos)
      << out;
}

TEST_F(cli_test, malformed_lines_are_reported_with_a_byte_offset) {
  write("broken.ndjson",
        "{\"id\":\"e\",\"product\":\"p\",\"warehouse\":\"WH-A\",\"delta\":1}\n"
        "{\"id\": oops}\n");
  EXPECT_EQ(run("import " + config() + " " + dir + "/broken.ndjson"), 1);
  EXPECT_NE(out.find("byte"), std::string::npos) << out;
  EXPECT_NE(out.find("line 2"), std::string::npos) << out;
}
