// node.cluster (PRODUCT.md §7): parsed into cluster_config, every problem
// reported with its JSON path; absent means single-node mode.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/config.hpp"

using namespace shelfsync;
using nlohmann::json;

namespace {

/// A minimal valid config with the cluster example of PRODUCT.md §7.
json base() {
  return json::parse(R"({
    "node": { "data_dir": "var/n1", "listen": "127.0.0.1:8081", "durability": "wal",
              "cluster": { "node_id": "n1",
                           "nats": ["nats://127.0.0.1:4222", "nats://127.0.0.1:4223",
                                    "nats://127.0.0.1:4224"],
                           "token_env": "SHELFSYNC_NATS_TOKEN", "slots": 16, "replicas": 3 } },
    "warehouses": [ { "id": "WH-A" } ],
    "shops": []
  })");
}

std::string all(const config_result& r) {
  std::string text;
  for (auto& p : r.problems)
    text += "\n  " + to_string(p);
  return text.empty() ? "\n  (no problems)" : text;
}

/// Breaks `base()` with `change`; passes when exactly one problem is
/// reported, at `path`, with `fragment` in its message.
::testing::AssertionResult only_problem(void (*change)(json&),
                                        const std::string& path,
                                        const std::string& fragment) {
  auto doc = base();
  change(doc);
  auto r = parse_config(doc.dump());
  if (r) return ::testing::AssertionFailure() << "the config was accepted";
  if (r.problems.size() != 1)
    return ::testing::AssertionFailure()
           << "expected one problem, got:" << all(r);
  auto& p = r.problems[0];
  if (p.path != path || p.message.find(fragment) == std::string::npos)
    return ::testing::AssertionFailure()
           << "expected a problem at " << path << " mentioning \"" << fragment
           << "\"; got:" << all(r);
  return ::testing::AssertionSuccess();
}

} // namespace

TEST(cluster_config, absent_means_single_node) {
  auto doc = base();
  doc["node"].erase("cluster");
  auto r = parse_config(doc.dump());
  ASSERT_TRUE(r) << all(r);
  EXPECT_FALSE(r.value->node.cluster.has_value());
}

TEST(cluster_config, spec_example_is_read) {
  auto r = parse_config(base().dump());
  ASSERT_TRUE(r) << all(r);
  ASSERT_TRUE(r.value->node.cluster.has_value());
  auto& c = *r.value->node.cluster;
  EXPECT_EQ(c.node_id, "n1");
  EXPECT_EQ(c.nats, (std::vector<std::string>{"nats://127.0.0.1:4222",
                                              "nats://127.0.0.1:4223",
                                              "nats://127.0.0.1:4224"}));
  EXPECT_EQ(c.token_env, "SHELFSYNC_NATS_TOKEN");
  EXPECT_EQ(c.slots, 16u);
  EXPECT_EQ(c.replicas, 3u);
}

TEST(cluster_config, optional_fields_take_their_defaults) {
  auto doc = base();
  auto& c = doc["node"]["cluster"];
  c.erase("token_env");
  c.erase("slots");
  c.erase("replicas");
  c["nats"] = {"tls://nats.example.com"};
  auto r = parse_config(doc.dump());
  ASSERT_TRUE(r) << all(r);
  EXPECT_EQ(r.value->node.cluster->token_env, "");
  EXPECT_EQ(r.value->node.cluster->slots, 16u);
  EXPECT_EQ(r.value->node.cluster->replicas, 3u);
}

TEST(cluster_config, node_id_has_a_fixed_form) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["cluster"].erase("node_id");
      },
      "$.node.cluster.node_id", "is missing"));
  for (const char* bad : {"", "N1", "-n1", "n_1", "n 1", "n.1"}) {
    auto doc = base();
    doc["node"]["cluster"]["node_id"] = bad;
    auto r = parse_config(doc.dump());
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.problems.at(0).path, "$.node.cluster.node_id") << all(r);
    EXPECT_NE(r.problems[0].message.find("[a-z0-9][a-z0-9-]{0,62}"),
              std::string::npos)
        << all(r);
  }
  auto doc = base();
  doc["node"]["cluster"]["node_id"] = std::string(64, 'a');
  EXPECT_FALSE(parse_config(doc.dump()));
  doc["node"]["cluster"]["node_id"] = std::string(63, 'a');
  EXPECT_TRUE(parse_config(doc.dump()));
  doc["node"]["cluster"]["node_id"] = "0-eu-west-2";
  EXPECT_TRUE(parse_config(doc.dump()));
}

TEST(cluster_config, slots_are_bounded) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["cluster"]["slots"] = 0;
      },
      "$.node.cluster.slots", "must be an integer from 1 to 4096, got 0"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["cluster"]["slots"] = 4097;
      },
      "$.node.cluster.slots", "from 1 to 4096"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["cluster"]["slots"] = "16";
      },
      "$.node.cluster.slots", "from 1 to 4096"));
}

TEST(cluster_config, apply_yield_is_0_to_5000_ms) {
  EXPECT_EQ(parse_config(base().dump()).value->node.cluster->apply_yield,
            std::chrono::milliseconds{500});
  for (int bad : {-1, 5001}) {
    auto doc = base();
    doc["node"]["cluster"]["apply_yield_ms"] = bad;
    auto r = parse_config(doc.dump());
    ASSERT_FALSE(r);
    ASSERT_EQ(r.problems.size(), 1u) << all(r);
    EXPECT_EQ(r.problems[0].path, "$.node.cluster.apply_yield_ms");
    EXPECT_NE(r.problems[0].message.find("from 0 to 5000"), std::string::npos)
        << all(r);
  }
  auto doc = base();
  doc["node"]["cluster"]["apply_yield_ms"] = 0;
  auto r = parse_config(doc.dump());
  ASSERT_TRUE(r) << all(r);
  EXPECT_EQ(r.value->node.cluster->apply_yield, std::chrono::milliseconds{0});
}

TEST(cluster_config, lease_ttl_is_2_to_300_seconds) {
  EXPECT_EQ(parse_config(base().dump()).value->node.cluster->lease_ttl,
            std::chrono::seconds{6});
  for (int bad : {0, 1, 301}) {
    auto doc = base();
    doc["node"]["cluster"]["lease_ttl_seconds"] = bad;
    auto r = parse_config(doc.dump());
    ASSERT_FALSE(r);
    ASSERT_EQ(r.problems.size(), 1u) << all(r);
    EXPECT_EQ(r.problems[0].path, "$.node.cluster.lease_ttl_seconds");
    EXPECT_NE(r.problems[0].message.find("from 2 to 300"), std::string::npos)
        << all(r);
  }
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["cluster"]["lease_ttl_seconds"] = 2.5;
      },
      "$.node.cluster.lease_ttl_seconds", "from 2 to 300"));
  auto doc = base();
  doc["node"]["cluster"]["lease_ttl_seconds"] = 2;
  auto r = parse_config(doc.dump());
  ASSERT_TRUE(r) << all(r);
  EXPECT_EQ(r.value->node.cluster->lease_ttl, std::chrono::seconds{2});
}

TEST(cluster_config, replicas_are_1_3_or_5) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["cluster"]["replicas"] = "3";
      },
      "$.node.cluster.replicas", "must be 1, 3 or 5"));
  for (int bad : {0, 2, 4, 7}) {
    auto doc = base();
    doc["node"]["cluster"]["replicas"] = bad;
    auto r = parse_config(doc.dump());
    ASSERT_FALSE(r);
    ASSERT_EQ(r.problems.size(), 1u) << all(r);
    EXPECT_EQ(r.problems[0].path, "$.node.cluster.replicas");
    EXPECT_NE(r.problems[0].message.find("must be 1, 3 or 5, got " +
                                         std::to_string(bad)),
              std::string::npos)
        << all(r);
  }
  for (int good : {1, 3, 5}) {
    auto doc = base();
    doc["node"]["cluster"]["replicas"] = good;
    auto r = parse_config(doc.dump());
    ASSERT_TRUE(r) << all(r);
    EXPECT_EQ(r.value->node.cluster->replicas, static_cast<uint32_t>(good));
  }
}

TEST(cluster_config, fsync_is_refused_in_cluster_mode_only) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["durability"] = "fsync";
      },
      "$.node.durability", "must not be \"fsync\" in cluster mode"));
  auto doc = base();
  doc["node"].erase("cluster");
  doc["node"]["durability"] = "fsync";
  EXPECT_TRUE(parse_config(doc.dump()));
}

TEST(cluster_config, nats_urls_are_checked_one_by_one) {
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["cluster"].erase("nats");
      },
      "$.node.cluster.nats", "is missing"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["cluster"]["nats"] = json::array();
      },
      "$.node.cluster.nats", "at least one NATS server URL"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["cluster"]["nats"][1] = "http://127.0.0.1:4223";
      },
      "$.node.cluster.nats[1]",
      "must be nats://HOST[:PORT] or tls://HOST[:PORT], got "
      "\"http://127.0.0.1:4223\""));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["cluster"]["nats"][2] = "nats://127.0.0.1:4222";
      },
      "$.node.cluster.nats[2]", "duplicate NATS URL"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["cluster"]["nats"][0] = "nats://127.0.0.1:0";
      },
      "$.node.cluster.nats[0]", "port from 1 to 65535"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["cluster"]["nats"][0] = "nats://:4222";
      },
      "$.node.cluster.nats[0]", "must name a host"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["cluster"]["nats"][0] = 4222;
      },
      "$.node.cluster.nats[0]", "must be a string"));
}

TEST(cluster_config, credentials_in_a_url_or_inline_are_refused_unechoed) {
  auto doc = base();
  doc["node"]["cluster"]["nats"][0] = "nats://s3cr3tT0ken@127.0.0.1:4222";
  doc["node"]["cluster"]["token"] = "s3cr3tT0ken";
  auto r = parse_config(doc.dump());
  ASSERT_FALSE(r);
  ASSERT_EQ(r.problems.size(), 2u) << all(r);
  EXPECT_EQ(r.problems[0].path, "$.node.cluster.nats[0]");
  EXPECT_NE(r.problems[0].message.find("must not contain a user name, "
                                       "password or token"),
            std::string::npos);
  EXPECT_EQ(r.problems[1].path, "$.node.cluster.token");
  EXPECT_NE(r.problems[1].message.find("name it in token_env"),
            std::string::npos);
  EXPECT_EQ(all(r).find("s3cr3tT0ken"), std::string::npos) << all(r);
}

TEST(cluster_config, token_env_follows_the_env_name_rules) {
  // A token pasted where the variable's name belongs.
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["cluster"]["token_env"] = "Zx9-q/Lm+2==";
      },
      "$.node.cluster.token_env", "environment variable"));
  EXPECT_TRUE(only_problem(
      [](json& d) {
        d["node"]["cluster"]["token_env"] = 7;
      },
      "$.node.cluster.token_env", "must be a string"));
}

TEST(cluster_config, unknown_keys_and_every_problem_at_once) {
  auto doc = base();
  auto& c = doc["node"]["cluster"];
  c["slot"] = 8;
  c["slots"] = 0;
  c["replicas"] = 2;
  c["node_id"] = "Node1";
  doc["node"]["durability"] = "fsync";
  auto r = parse_config(doc.dump());
  ASSERT_FALSE(r);
  std::vector<std::string> paths;
  for (auto& p : r.problems)
    paths.push_back(p.path);
  EXPECT_EQ(paths, (std::vector<std::string>{
                       "$.node.cluster.node_id", "$.node.cluster.slots",
                       "$.node.cluster.replicas", "$.node.cluster.slot",
                       "$.node.durability"}))
      << all(r);
  EXPECT_NE(all(r).find("did you mean \"slots\"?"), std::string::npos)
      << all(r);
}
