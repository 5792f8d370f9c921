// Kernel profiles: names, xattr lists and every rejection rule.
#include "common/read/kernel_profile.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace imab {
namespace {

using ::testing::HasSubstr;

void ExpectInvalid(std::string_view text, const std::string& what) {
  Result<KernelProfile> r = ParseKernelProfile(text);
  ASSERT_FALSE(r.has_value()) << text;
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(r.error().message, HasSubstr(what));
}

TEST(KernelProfileTest, BaseNames) {
  struct Case {
    const char* name;
    int bits;
    bool be;
  };
  for (const Case& c : {Case{"le64", 64, false}, Case{"le32", 32, false},
                        Case{"be64", 64, true}, Case{"be32", 32, true}}) {
    Result<KernelProfile> p = ParseKernelProfile(c.name);
    ASSERT_TRUE(p.has_value()) << p.error().message;
    EXPECT_EQ(p->word_bits, c.bits);
    EXPECT_EQ(p->big_endian, c.be);
    EXPECT_EQ(p->evm_xattrs, AllEvmXattrs());
    EXPECT_EQ(KernelProfileName(*p), c.name);
  }
}

TEST(KernelProfileTest, DefaultIsLe64AllXattrs) {
  KernelProfile p;
  EXPECT_EQ(KernelProfileName(p), "le64");
  EXPECT_EQ(*ParseKernelProfile("le64"), p);
  EXPECT_EQ(AllEvmXattrs().size(), 8u);
}

TEST(KernelProfileTest, XattrListRoundTrip) {
  const std::string text =
      "le32:security.selinux,security.ima,security.capability";
  Result<KernelProfile> p = ParseKernelProfile(text);
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->word_bits, 32);
  EXPECT_EQ(p->evm_xattrs,
            (std::vector<std::string>{"security.selinux", "security.ima",
                                      "security.capability"}));
  EXPECT_EQ(KernelProfileName(*p), text);
  EXPECT_EQ(*ParseKernelProfile(KernelProfileName(*p)), *p);
}

TEST(KernelProfileTest, FullListNamesAsBase) {
  std::string text = "be64:";
  for (size_t i = 0; i < AllEvmXattrs().size(); ++i) {
    text += (i > 0 ? "," : "") + AllEvmXattrs()[i];
  }
  Result<KernelProfile> p = ParseKernelProfile(text);
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(KernelProfileName(*p), "be64");
}

TEST(KernelProfileTest, ImaOnlyList) {
  Result<KernelProfile> p = ParseKernelProfile("le64:security.ima");
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->evm_xattrs, std::vector<std::string>{"security.ima"});
}

TEST(KernelProfileTest, RejectsUnknownName) {
  ExpectInvalid("", "unknown name ''");
  ExpectInvalid("le16", "unknown name 'le16'");
  ExpectInvalid("LE64", "unknown name 'LE64'");
  ExpectInvalid("le64 ", "unknown name");
  ExpectInvalid("x86_64:security.ima", "unknown name 'x86_64'");
}

TEST(KernelProfileTest, RejectsUnprotectedXattr) {
  ExpectInvalid("le64:security.ima,user.foo",
                "'user.foo' is not protected by EVM");
  ExpectInvalid("le64:security.evm,security.ima",
                "'security.evm' is not protected by EVM");
}

TEST(KernelProfileTest, RejectsOutOfOrder) {
  ExpectInvalid("le64:security.capability,security.ima",
                "'security.ima' out of kernel order");
}

TEST(KernelProfileTest, RejectsRepeat) {
  ExpectInvalid("le64:security.ima,security.ima", "out of kernel order");
}

TEST(KernelProfileTest, RejectsMissingIma) {
  ExpectInvalid("le64:security.selinux,security.capability",
                "must include security.ima");
}

TEST(KernelProfileTest, RejectsEmptyNames) {
  ExpectInvalid("le64:", "empty xattr name");
  ExpectInvalid("le64:security.ima,", "empty xattr name");
  ExpectInvalid("le64:,security.ima", "empty xattr name");
}

}  // namespace
}  // namespace imab
