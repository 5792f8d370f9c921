#include "common/read/bundle_container.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "common/read/byte_source.h"
#include "common/read/handles.h"
#include "common/read/limits.h"
#include "common/read/tar_header.h"
#include "common/write/bundle_writer.h"
#include "tests/testutil/bytes.h"
#include "tests/testutil/memory_byte_source.h"
#include "tests/testutil/temp_dir.h"

namespace imab {
namespace {

using imab::testing::ByteSpan;
using ::testing::HasSubstr;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

constexpr uint64_t kMtime = 1700000000;
using Bytes = std::vector<uint8_t>;

std::string Pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    s[i] = static_cast<char>(seed + static_cast<char>(i % 23));
  }
  return s;
}

UniqueFd OpenRead(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  EXPECT_TRUE(fd.valid()) << path;
  return fd;
}

UniqueFd CreateFile(const std::string& path) {
  UniqueFd fd(
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  EXPECT_TRUE(fd.valid()) << path;
  return fd;
}

// Writes a bundle with WriteBundle into `dir`/name and returns its path.
std::string WriteBundleFile(const TempDir& dir, const std::string& manifest,
                            const std::string& signature,
                            const std::string& payload,
                            const std::string& name = "b.imab") {
  WriteFile(dir.Sub("payload.in"), payload);
  UniqueFd in = OpenRead(dir.Sub("payload.in"));
  UniqueFd out = CreateFile(dir.Sub(name));
  const Status st = WriteBundle(out.get(), manifest, ByteSpan(signature),
                                in.get(), payload.size(), kMtime);
  EXPECT_TRUE(st.ok()) << st.error().message;
  return dir.Sub(name);
}

// The standard small bundle: 100, 700 and 1000 byte members, so each has
// padding; 5120 bytes in all.
struct Fixture {
  std::string manifest = Pattern(100, 'a');
  std::string signature = Pattern(700, 'A');
  std::string payload = Pattern(1000, '0');
};

Bytes StandardBundle() {
  TempDir dir;
  Fixture f;
  const std::string s =
      ReadFile(WriteBundleFile(dir, f.manifest, f.signature, f.payload));
  return Bytes(s.begin(), s.end());
}

constexpr uint64_t kHeaderOffsets[] = {0, 1024, 2560};
constexpr uint64_t kEndOffset = 4096;
constexpr uint64_t kStandardSize = 5120;

Result<BundleLayout> Read(Bytes bytes) {
  MemoryByteSource source(std::move(bytes));
  return ReadBundleLayout(source);
}

void ExpectRejected(const Bytes& bytes, ErrorCode code,
                    const std::string& message_part,
                    const std::string& context = "") {
  Result<BundleLayout> r = Read(bytes);
  ASSERT_FALSE(r.has_value()) << context;
  EXPECT_EQ(r.error().code, code) << context << ": " << r.error().message;
  EXPECT_THAT(r.error().message, HasSubstr(message_part))
      << context << ": " << r.error().message;
}

// A member built by hand: header (optionally with another size in the
// header than the data has), data, padding.
void AppendMember(Bytes& out, std::string_view name, const std::string& data,
                  uint64_t mtime = kMtime) {
  const TarBlock h = EncodeOuterMemberHeader(name, data.size(), mtime);
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), data.begin(), data.end());
  out.insert(out.end(), TarPadding(data.size()), 0);
}

void AppendEnd(Bytes& out) { out.insert(out.end(), kTarEndBytes, 0); }

// Rewrites the checksum of the header at `offset` so that only the
// deliberately changed field differs from the canonical header.
void FixChecksum(Bytes& bytes, size_t offset) {
  std::fill_n(bytes.begin() + static_cast<ptrdiff_t>(offset + 148), 8, ' ');
  unsigned sum = 0;
  for (size_t i = 0; i < kTarBlockBytes; ++i) {
    sum += bytes[offset + i];
  }
  char field[8];
  std::snprintf(field, sizeof(field), "%06o", sum);
  std::copy_n(field, 7, bytes.begin() + static_cast<ptrdiff_t>(offset + 148));
  bytes[offset + 155] = ' ';
}

void SetField(Bytes& bytes, size_t offset, std::string_view value) {
  std::copy(value.begin(), value.end(),
            bytes.begin() + static_cast<ptrdiff_t>(offset));
}

// ---- Writing and reading back.

TEST(BundleContainerTest, WriteThenReadGivesOffsets) {
  TempDir dir;
  Fixture f;
  const std::string path =
      WriteBundleFile(dir, f.manifest, f.signature, f.payload);
  auto source = FileByteSource::Open(path);
  ASSERT_TRUE(source.has_value()) << source.error().message;
  EXPECT_EQ((*source)->size(), kStandardSize);
  Result<BundleLayout> layout = ReadBundleLayout(**source);
  ASSERT_TRUE(layout.has_value()) << layout.error().message;
  EXPECT_EQ(layout->manifest_offset, 512u);
  EXPECT_EQ(layout->manifest_size, 100u);
  EXPECT_EQ(layout->signature_offset, 1536u);
  EXPECT_EQ(layout->signature_size, 700u);
  EXPECT_EQ(layout->payload_offset, 3072u);
  EXPECT_EQ(layout->payload_size, 1000u);
  EXPECT_EQ(layout->mtime, kMtime);

  const std::string all = ReadFile(path);
  EXPECT_EQ(all.substr(512, 100), f.manifest);
  EXPECT_EQ(all.substr(1536, 700), f.signature);
  EXPECT_EQ(all.substr(3072, 1000), f.payload);
}

TEST(BundleContainerTest, BlockAlignedAndEmptyMembers) {
  TempDir dir;
  const std::string path =
      WriteBundleFile(dir, Pattern(512, 'm'), "", Pattern(1024, 'p'));
  auto source = FileByteSource::Open(path);
  ASSERT_TRUE(source.has_value());
  EXPECT_EQ((*source)->size(), 512u + 512 + 512 + 512 + 1024 + 1024);
  Result<BundleLayout> layout = ReadBundleLayout(**source);
  ASSERT_TRUE(layout.has_value()) << layout.error().message;
  EXPECT_EQ(layout->manifest_offset, 512u);
  EXPECT_EQ(layout->signature_offset, 1536u);
  EXPECT_EQ(layout->signature_size, 0u);
  EXPECT_EQ(layout->payload_offset, 2048u);
  EXPECT_EQ(layout->payload_size, 1024u);
}

TEST(BundleContainerTest, LargerPayloadIsCopiedExactly) {
  TempDir dir;
  const std::string payload = Pattern(3 * kStreamChunkBytes + 17, 'q');
  const std::string path = WriteBundleFile(dir, "m", "s", payload);
  auto source = FileByteSource::Open(path);
  ASSERT_TRUE(source.has_value());
  Result<BundleLayout> layout = ReadBundleLayout(**source);
  ASSERT_TRUE(layout.has_value()) << layout.error().message;
  EXPECT_EQ(ReadFile(path).substr(layout->payload_offset, payload.size()),
            payload);
}

int RunShell(const std::string& cmd, std::string* output) {
  FILE* pipe = ::popen((cmd + " 2>&1").c_str(), "r");
  if (pipe == nullptr) {
    return -1;
  }
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) {
    output->append(buf, n);
  }
  return ::pclose(pipe);
}

TEST(BundleContainerTest, GnuTarListsAndExtractsMembers) {
  TempDir dir;
  Fixture f;
  const std::string path =
      WriteBundleFile(dir, f.manifest, f.signature, f.payload);
  std::string names;
  ASSERT_EQ(RunShell("tar tf '" + path + "'", &names), 0) << names;
  EXPECT_EQ(names, "manifest\nmanifest.sig\npayload.tar.zst\n");
  std::string verbose;
  ASSERT_EQ(RunShell("tar tvf '" + path + "'", &verbose), 0) << verbose;
  EXPECT_THAT(verbose, HasSubstr("-rw-r--r-- 0/0"));

  std::filesystem::create_directory(dir.Sub("x"));
  std::string out;
  ASSERT_EQ(RunShell("tar xf '" + path + "' -C '" + dir.Sub("x") + "'", &out),
            0)
      << out;
  EXPECT_EQ(ReadFile(dir.Sub("x/manifest")), f.manifest);
  EXPECT_EQ(ReadFile(dir.Sub("x/manifest.sig")), f.signature);
  EXPECT_EQ(ReadFile(dir.Sub("x/payload.tar.zst")), f.payload);
}

// A pipe as output makes copy_file_range fail, so the read/write fallback
// runs; its bytes must equal the in-kernel copy's.
TEST(BundleContainerTest, FallbackCopyToPipeGivesSameBytes) {
  TempDir dir;
  Fixture f;
  const Bytes expected = StandardBundle();
  WriteFile(dir.Sub("payload.in"), f.payload);
  UniqueFd in = OpenRead(dir.Sub("payload.in"));
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  std::string got;
  std::thread reader([&] {
    char buf[4096];
    ssize_t n = 0;
    while ((n = ::read(read_end.get(), buf, sizeof(buf))) > 0) {
      got.append(buf, static_cast<size_t>(n));
    }
  });
  const Status st =
      WriteBundle(write_end.get(), f.manifest, ByteSpan(f.signature), in.get(),
                  f.payload.size(), kMtime);
  write_end.reset();
  reader.join();
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(Bytes(got.begin(), got.end()), expected);
}

TEST(BundleContainerTest, WriteFailsOnShortPayload) {
  TempDir dir;
  WriteFile(dir.Sub("payload.in"), "short");
  UniqueFd in = OpenRead(dir.Sub("payload.in"));
  UniqueFd out = CreateFile(dir.Sub("b.imab"));
  const Status st =
      WriteBundle(out.get(), "m", ByteSpan("s"), in.get(), 6, kMtime);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kIo);
  EXPECT_EQ(st.error().message, "payload ended after 5 of 6 bytes");
}

TEST(BundleContainerTest, WriteFailsOnBadDescriptor) {
  TempDir dir;
  WriteFile(dir.Sub("payload.in"), "p");
  UniqueFd in = OpenRead(dir.Sub("payload.in"));
  const Status st = WriteBundle(-1, "m", ByteSpan("s"), in.get(), 1, kMtime);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kIo);
}

TEST(BundleContainerTest, WriteChecksLimitsFirst) {
  TempDir dir;
  WriteFile(dir.Sub("payload.in"), "p");
  UniqueFd in = OpenRead(dir.Sub("payload.in"));
  UniqueFd out = CreateFile(dir.Sub("b.imab"));
  // A reserved, never-touched mapping stands in for an oversized manifest.
  const size_t big = kMaxManifestBytes + 1;
  void* map = ::mmap(nullptr, big, PROT_READ,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ASSERT_NE(map, MAP_FAILED);
  Status st =
      WriteBundle(out.get(), std::string_view(static_cast<char*>(map), big),
                  ByteSpan("s"), in.get(), 1, kMtime);
  ::munmap(map, big);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);

  const std::string big_sig(kMaxSignatureBytes + 1, 's');
  st = WriteBundle(out.get(), "m", ByteSpan(big_sig), in.get(), 1, kMtime);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);

  st = WriteBundle(out.get(), "m", ByteSpan("s"), in.get(), kTarMaxOctal11 + 1,
                   kMtime);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);

  st = WriteBundle(out.get(), "m", ByteSpan("s"), in.get(), 1,
                   kTarMaxOctal11 + 1);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  // Nothing was written before the checks failed.
  EXPECT_EQ(ReadFile(dir.Sub("b.imab")), "");
}

// ---- Rejections (FORMAT.md §2.3).

TEST(BundleContainerTest, StandardBundleIsAccepted) {
  Result<BundleLayout> r = Read(StandardBundle());
  ASSERT_TRUE(r.has_value()) << r.error().message;
}

TEST(BundleContainerTest, EveryHeaderByteFlipIsRejected) {
  const Bytes good = StandardBundle();
  for (size_t m = 0; m < 3; ++m) {
    const std::string member = "bundle member " + std::to_string(m + 1);
    for (size_t i = 0; i < kTarBlockBytes; ++i) {
      for (uint8_t flip : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xFF}}) {
        Bytes bad = good;
        bad[kHeaderOffsets[m] + i] ^= flip;
        Result<BundleLayout> r = Read(bad);
        ASSERT_FALSE(r.has_value()) << member << " byte " << i;
        EXPECT_TRUE(r.error().message.starts_with(member)) << r.error().message;
      }
    }
  }
}

TEST(BundleContainerTest, PaddingFlipsAreRejected) {
  const Bytes good = StandardBundle();
  const std::pair<size_t, size_t> pads[] = {
      {512 + 100, 1024}, {1536 + 700, 2560}, {3072 + 1000, kEndOffset}};
  for (size_t m = 0; m < 3; ++m) {
    for (size_t i = pads[m].first; i < pads[m].second; ++i) {
      Bytes bad = good;
      bad[i] = 1;
      ExpectRejected(
          bad, ErrorCode::kMalformed,
          "bundle member " + std::to_string(m + 1) + ": padding is not zero",
          std::to_string(i));
    }
  }
}

TEST(BundleContainerTest, EndBlockFlipsAreRejected) {
  const Bytes good = StandardBundle();
  for (size_t i = kEndOffset; i < kStandardSize; ++i) {
    Bytes bad = good;
    bad[i] = 0x20;
    ExpectRejected(bad, ErrorCode::kMalformed,
                   "end-of-archive blocks are not zero", std::to_string(i));
  }
}

TEST(BundleContainerTest, EveryTruncationIsRejected) {
  const Bytes good = StandardBundle();
  for (size_t len = 0; len < good.size(); ++len) {
    const Bytes bad(good.begin(), good.begin() + static_cast<ptrdiff_t>(len));
    Result<BundleLayout> r = Read(bad);
    ASSERT_FALSE(r.has_value()) << len;
    EXPECT_EQ(r.error().code, ErrorCode::kMalformed) << len;
  }
  ExpectRejected(Bytes(good.begin(), good.begin() + 2559),
                 ErrorCode::kMalformed, "not a bundle: too short");
  ExpectRejected(Bytes(good.begin(), good.begin() + 4000),
                 ErrorCode::kMalformed, "bundle member 3: truncated");
  ExpectRejected(Bytes(good.begin(), good.begin() + 4096),
                 ErrorCode::kMalformed,
                 "truncated: end-of-archive blocks missing");
}

TEST(BundleContainerTest, TrailingBytesAreRejected) {
  const Bytes good = StandardBundle();
  for (size_t extra :
       {size_t{1}, size_t{511}, size_t{512}, size_t{1024}, size_t{5120}}) {
    Bytes bad = good;
    bad.insert(bad.end(), extra, 0);
    Result<BundleLayout> r = Read(bad);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().message,
              std::to_string(extra) +
                  " unexpected bytes after the end of the bundle");
  }
}

TEST(BundleContainerTest, ReorderedMembersAreRejected) {
  Bytes bad;
  AppendMember(bad, "manifest.sig", "sig");
  AppendMember(bad, "manifest", "man");
  AppendMember(bad, "payload.tar.zst", "pay");
  AppendEnd(bad);
  ExpectRejected(bad, ErrorCode::kMalformed,
                 "bundle member 1: expected header of 'manifest', found "
                 "'manifest.sig'");
  bad.clear();
  AppendMember(bad, "manifest", "man");
  AppendMember(bad, "payload.tar.zst", "pay");
  AppendMember(bad, "manifest.sig", "sig");
  AppendEnd(bad);
  ExpectRejected(bad, ErrorCode::kMalformed,
                 "bundle member 2: expected header of 'manifest.sig', found "
                 "'payload.tar.zst'");
}

TEST(BundleContainerTest, HandBuiltBundleMatchesWriter) {
  Fixture f;
  Bytes built;
  AppendMember(built, "manifest", f.manifest);
  AppendMember(built, "manifest.sig", f.signature);
  AppendMember(built, "payload.tar.zst", f.payload);
  AppendEnd(built);
  EXPECT_EQ(built, StandardBundle());
}

TEST(BundleContainerTest, FourthMemberIsRejected) {
  Bytes bad;
  AppendMember(bad, "manifest", "man");
  AppendMember(bad, "manifest.sig", "sig");
  AppendMember(bad, "payload.tar.zst", "pay");
  AppendMember(bad, "extra", "x");
  AppendEnd(bad);
  ExpectRejected(bad, ErrorCode::kMalformed,
                 "end-of-archive blocks are not zero");
}

TEST(BundleContainerTest, MissingMemberIsRejected) {
  Bytes bad;
  AppendMember(bad, "manifest", "man");
  AppendMember(bad, "manifest.sig", "sig");
  AppendEnd(bad);
  ExpectRejected(bad, ErrorCode::kMalformed,
                 "bundle member 3: missing, found the end of the archive");
  bad.clear();
  AppendMember(bad, "manifest", "man");
  AppendMember(bad, "payload.tar.zst", "pay");
  AppendEnd(bad);
  ExpectRejected(bad, ErrorCode::kMalformed,
                 "bundle member 2: expected header of 'manifest.sig'");
}

TEST(BundleContainerTest, EmptyAndEndOnlyFilesAreRejected) {
  ExpectRejected({}, ErrorCode::kMalformed, "not a bundle: too short");
  ExpectRejected(Bytes(100, 'x'), ErrorCode::kMalformed,
                 "not a bundle: too short");
  ExpectRejected(Bytes(kTarEndBytes, 0), ErrorCode::kMalformed,
                 "not a bundle: too short");
  ExpectRejected(Bytes(3 * kTarBlockBytes + kTarEndBytes, 0),
                 ErrorCode::kMalformed, "bundle member 1: missing");
}

// A header whose size field claims `size`, correctly checksummed, followed
// by the other members so that only the limit can reject it.
Bytes WithClaimedSize(size_t member, uint64_t size) {
  Bytes bytes = StandardBundle();
  const TarBlock h = EncodeOuterMemberHeader(
      std::array<std::string_view, 3>{"manifest", "manifest.sig",
                                      "payload.tar.zst"}[member],
      size, kMtime);
  std::copy(h.begin(), h.end(),
            bytes.begin() + static_cast<ptrdiff_t>(kHeaderOffsets[member]));
  return bytes;
}

TEST(BundleContainerTest, SizesOverLimitsAreRejected) {
  ExpectRejected(WithClaimedSize(0, kMaxManifestBytes + 1),
                 ErrorCode::kLimitExceeded,
                 "bundle member 1: size 268435457 exceeds the limit");
  ExpectRejected(WithClaimedSize(0, kTarMaxOctal11), ErrorCode::kLimitExceeded,
                 "bundle member 1: size");
  ExpectRejected(WithClaimedSize(1, kMaxSignatureBytes + 1),
                 ErrorCode::kLimitExceeded,
                 "bundle member 2: size 262145 exceeds the limit");
  // The payload limit (1 TiB) is above what 11 octal digits can express;
  // the largest expressible size is refused as truncation, not allocated.
  ExpectRejected(WithClaimedSize(2, kTarMaxOctal11), ErrorCode::kMalformed,
                 "bundle member 3: truncated");
  // Sizes at a limit are accepted by the header check and then fail only
  // because the data is missing.
  ExpectRejected(WithClaimedSize(0, kMaxManifestBytes), ErrorCode::kMalformed,
                 "bundle member 1: truncated");
  ExpectRejected(WithClaimedSize(1, kMaxSignatureBytes), ErrorCode::kMalformed,
                 "bundle member 2: truncated");
}

TEST(BundleContainerTest, NonCanonicalNumbersAreRejected) {
  const Bytes good = StandardBundle();
  const std::pair<size_t, std::string> cases[] = {
      {124, std::string(" 0000000144\0", 12)},                 // space filled
      {124, std::string("000000000144", 12)},                  // no NUL
      {124, std::string("\x80\0\0\0\0\0\0\0\0\0\0\x64", 12)},  // base-256
      {124, std::string("0000000014 \0", 12)},
      {124, std::string("0000000018\0\0", 12)},  // not octal
      {136, std::string("14524770400 ", 12)},    // mtime without NUL
      {136, std::string("+4524770400\0", 12)},
  };
  for (const auto& [offset, value] : cases) {
    Bytes bad = good;
    SetField(bad, offset, value);
    FixChecksum(bad, 0);
    ExpectRejected(bad, ErrorCode::kMalformed,
                   "bundle member 1: ", std::to_string(offset));
    Result<BundleLayout> r = Read(bad);
    ASSERT_FALSE(r.has_value());
    EXPECT_THAT(r.error().message,
                HasSubstr(offset == 124 ? "size field" : "mtime field"));
  }
}

TEST(BundleContainerTest, OtherFieldsMustBeCanonical) {
  const Bytes good = StandardBundle();
  struct Case {
    size_t member;
    size_t offset;
    std::string value;
    std::string field;
  };
  const Case cases[] = {
      {0, 100, std::string("0000600\0", 8), "mode"},
      {1, 108, std::string("0000001\0", 8), "uid"},
      {2, 116, std::string("0000001\0", 8), "gid"},
      {1, 136, std::string("14524770401\0", 12), "mtime"},
      {2, 136, std::string("00000000000\0", 12), "mtime"},
      {0, 156, "7", "type"},
      {1, 157, "target", "link target"},
      {2, 263, "  ", "header"},    // GNU magic "ustar  \0"
      {0, 265, "root", "header"},  // uname
      {1, 329, std::string("0000000\0", 8), "device numbers"},
      {2, 345, "dir", "path"},  // prefix
  };
  for (const Case& c : cases) {
    Bytes bad = good;
    SetField(bad, kHeaderOffsets[c.member] + c.offset, c.value);
    FixChecksum(bad, kHeaderOffsets[c.member]);
    ExpectRejected(bad, ErrorCode::kMalformed,
                   "bundle member " + std::to_string(c.member + 1) +
                       ": expected header of",
                   c.field);
    Result<BundleLayout> r = Read(bad);
    ASSERT_FALSE(r.has_value());
    EXPECT_THAT(r.error().message, HasSubstr("(differs in " + c.field + ")"));
  }
}

class FailingSource : public ByteSource {
 public:
  uint64_t size() const override { return kStandardSize; }
  Status ReadAt(uint64_t, std::span<uint8_t>) override {
    return MakeError(ErrorCode::kIo, "disk on fire");
  }
};

TEST(BundleContainerTest, SourceErrorsPropagate) {
  FailingSource source;
  Result<BundleLayout> r = ReadBundleLayout(source);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_EQ(r.error().message, "bundle member 1: disk on fire");
}

}  // namespace
}  // namespace imab
