#include "channels/amazon/gzip.hpp"

#include <gtest/gtest.h>

using namespace shelfsync::amazon;

TEST(gzip, round_trips_and_has_the_gzip_magic) {
  std::string text;
  for (int i = 0; i < 10000; ++i)
    text += "{\"sku\":\"SKU-" + std::to_string(i) + "\"},";
  auto packed = gzip_compress(text);
  ASSERT_GE(packed.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(packed[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(packed[1]), 0x8b);
  EXPECT_LT(packed.size(), text.size() / 4);
  auto back = gzip_decompress(packed);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, text);
  EXPECT_EQ(gzip_decompress(gzip_compress("")).value_or("x"), "");
}

TEST(gzip, corrupt_truncated_and_oversized_input_fail_with_a_reason) {
  auto packed = gzip_compress(std::string(100000, 'a'));
  std::string error;
  EXPECT_FALSE(gzip_decompress("not gzip at all", &error));
  EXPECT_FALSE(error.empty());
  EXPECT_FALSE(gzip_decompress(packed.substr(0, packed.size() / 2), &error));
  EXPECT_FALSE(gzip_decompress(packed, &error, 1000));
  EXPECT_NE(error.find("exceeds"), std::string::npos);
}
