#include "builder/signing_pipeline.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "builder/scratch_file.h"
#include "common/read/boot_files.h"
#include "common/read/bytes.h"
#include "common/read/content_hasher.h"
#include "common/read/digest.h"
#include "common/read/evm_digest.h"
#include "common/read/glob_match.h"
#include "common/read/ima_xattr.h"
#include "common/read/initramfs.h"
#include "common/read/keyid.h"
#include "common/read/limits.h"
#include "common/read/openssl_error.h"
#include "common/write/ima_xattr_writer.h"
#include "common/write/initramfs_rewrite.h"
#include "common/write/xattr_order.h"

namespace imab::builder {
namespace {

constexpr size_t kChunkBytes = 1u << 20;

struct Job {
  PreparedEntry prepared;
  bool needs_signing = false;
  bool done = false;
  uint64_t bytes = 0;  // memory held while queued
};

Status WriteAll(int fd, std::span<const uint8_t> data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return MakeError(ErrorCode::kIo, std::string("spooling content: ") +
                                           std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  return OkStatus();
}

// Reads all content of a file entry into memory or a spool file, hashing
// it on the way.
Status ReadContent(SourceEntry& source, const SigningConfig& config,
                   PreparedEntry& out) {
  Entry& entry = out.entry;
  IMAB_ASSIGN_OR_RETURN(ContentHasher hasher,
                        ContentHasher::Create(config.algo));
  bool inline_content = entry.size <= SigningPipeline::kInlineContentBytes;
  std::vector<uint8_t> chunk;
  if (inline_content) {
    out.inline_content.resize(static_cast<size_t>(entry.size));
  } else {
    IMAB_ASSIGN_OR_RETURN(out.spool, CreateScratchFile(config.scratch_folder));
    chunk.resize(kChunkBytes);
  }
  uint64_t total = 0;
  while (true) {
    std::span<uint8_t> buf =
        inline_content
            ? std::span<uint8_t>(
                  reinterpret_cast<uint8_t*>(out.inline_content.data()) +
                      std::min<uint64_t>(total, entry.size),
                  static_cast<size_t>(entry.size -
                                      std::min<uint64_t>(total, entry.size)))
            : std::span<uint8_t>(chunk);
    if (buf.empty()) {
      // Probe for bytes beyond the stat size: the file grew.
      uint8_t probe = 0;
      IMAB_ASSIGN_OR_RETURN(size_t extra, source.content->Read({&probe, 1}));
      total += extra;
      break;
    }
    IMAB_ASSIGN_OR_RETURN(size_t n, source.content->Read(buf));
    if (n == 0) {
      break;
    }
    hasher.Update(buf.first(n));
    if (!inline_content) {
      IMAB_RETURN_IF_ERROR(WriteAll(out.spool.get(), buf.first(n)));
    }
    total += n;
    if (!inline_content && total > entry.size) {
      break;
    }
  }
  if (total != entry.size) {
    return MakeError(ErrorCode::kIo,
                     entry.path + ": changed size while being read");
  }
  entry.sha256 = hasher.Finish(&out.content_digest);
  return OkStatus();
}

bool IsInitramfs(const SigningConfig& config, const Entry& entry) {
  if (entry.type != EntryType::kFile) {
    return false;
  }
  if (!config.initramfs_paths.empty()) {
    return std::find(config.initramfs_paths.begin(),
                     config.initramfs_paths.end(),
                     entry.path) != config.initramfs_paths.end();
  }
  // Every file a bootloader could load as an initramfs (common/boot_files).
  return config.detect_initramfs &&
         BootFileRoleOf(entry.path) == BootFileRole::kInitramfs;
}

// Reads an initramfs whole (bounded), puts this build's certificates into
// etc/keys, and hashes the new image, which is what gets signed and shipped.
Status RewriteInitramfs(SourceEntry& source, const SigningConfig& config,
                        PreparedEntry& out, InitramfsRewrite* rewrite) {
  Entry& entry = out.entry;
  if (entry.size > kMaxInitramfsBytes) {
    return MakeError(ErrorCode::kLimitExceeded,
                     entry.path + ": initramfs larger than " +
                         std::to_string(kMaxInitramfsBytes) + " bytes");
  }
  std::string image(static_cast<size_t>(entry.size), '\0');
  size_t total = 0;
  while (total < image.size()) {
    IMAB_ASSIGN_OR_RETURN(size_t n,
                          source.content->Read(std::span<uint8_t>(
                              reinterpret_cast<uint8_t*>(image.data()) + total,
                              image.size() - total)));
    if (n == 0) {
      return MakeError(ErrorCode::kIo,
                       entry.path + ": changed size while being read");
    }
    total += n;
  }
  // The kernel fills .ima only from x509_ima.der: an initramfs without one
  // would boot with an empty .ima keyring and appraise nothing
  // successfully, so one key serves both when no separate IMA key is given.
  std::optional<std::span<const uint8_t>> ima =
      AsBytes(config.ima_cert_der.has_value() ? *config.ima_cert_der
                                              : config.evm_cert_der);
  Result<std::vector<uint8_t>> rewritten =
      SetInitramfsKeys(AsBytes(image), AsBytes(config.evm_cert_der), ima);
  if (!rewritten.has_value()) {
    return WithContext(rewritten.error(), entry.path);
  }
  out.inline_content.assign(rewritten->begin(), rewritten->end());
  entry.size = out.inline_content.size();
  IMAB_ASSIGN_OR_RETURN(ContentHasher hasher,
                        ContentHasher::Create(config.algo));
  hasher.Update(AsBytes(out.inline_content));
  entry.sha256 = hasher.Finish(&out.content_digest);
  rewrite->path = entry.path;
  // Record what the kernel will actually find, read back from the new
  // image: x509_ima.der may be absent, a symlink, or its own file.
  Result<InitramfsKeys> keys = ReadInitramfsKeys(AsBytes(out.inline_content));
  if (!keys.has_value()) {
    return WithContext(keys.error(), entry.path);
  }
  if (!keys->evm_der.has_value()) {
    return MakeError(ErrorCode::kInternal,
                     entry.path + ": x509_evm.der missing after rewrite");
  }
  IMAB_ASSIGN_OR_RETURN(rewrite->evm_cert_sha256, Sha256Of(*keys->evm_der));
  if (keys->ima_der.has_value()) {
    IMAB_ASSIGN_OR_RETURN(rewrite->ima_cert_sha256, Sha256Of(*keys->ima_der));
  }
  return OkStatus();
}

// Replaces security.ima with a signature over the content digest, then
// signs the final metadata (ima-evm-formats.md §4.5: the EVM signature
// covers the new security.ima, owner and mode).
Status SignEntry(const SigningConfig& config, PreparedEntry& prepared) {
  Entry& entry = prepared.entry;
  IMAB_ASSIGN_OR_RETURN(
      std::vector<uint8_t> ima_sig,
      config.ima_signer->Sign(config.algo, prepared.content_digest));
  SetXattr(entry, kImaXattr,
           EncodeSignatureV2(XattrType::kDigsig, config.algo,
                             config.ima_signer->keyid(), ima_sig));
  IMAB_ASSIGN_OR_RETURN(std::vector<uint8_t> evm_digest,
                        EvmPortableDigest(entry, config.profile, config.algo));
  IMAB_ASSIGN_OR_RETURN(std::vector<uint8_t> evm_sig,
                        config.evm_signer->Sign(config.algo, evm_digest));
  SetXattr(entry, kEvmXattr,
           EncodeSignatureV2(XattrType::kEvmPortableDigsig, config.algo,
                             config.evm_signer->keyid(), evm_sig));
  prepared.signed_now = true;
  return OkStatus();
}

std::string DescribeOldSignature(const Entry& entry) {
  const Xattr* ima = FindXattr(entry, kImaXattr);
  if (ima == nullptr) {
    return "none";
  }
  Result<ImaXattr> parsed = ParseImaXattr(ima->value);
  if (!parsed.has_value()) {
    return "invalid";
  }
  return parsed->is_signature ? KeyIdHex(parsed->signature.keyid) : "digest";
}

}  // namespace

struct SigningPipeline::Shared {
  SigningConfig config;
  WriteFn write;
  std::mutex mu;
  std::condition_variable changed;
  std::deque<std::unique_ptr<Job>> queue;  // submission order
  size_t sign_cursor = 0;  // queue index of the next job workers look at
  uint64_t bytes_in_flight = 0;
  bool closing = false;
  std::optional<Error> error;
  std::vector<std::thread> workers;
  std::thread writer;

  void Fail(Error e) {
    std::lock_guard<std::mutex> lock(mu);
    if (!error.has_value()) {
      error = std::move(e);
    }
    changed.notify_all();
  }

  void WorkerLoop() {
    while (true) {
      Job* job = nullptr;
      {
        std::unique_lock<std::mutex> lock(mu);
        changed.wait(lock, [&] {
          return error.has_value() || sign_cursor < queue.size() || closing;
        });
        if (error.has_value() || sign_cursor >= queue.size()) {
          return;  // failed, or closing with nothing left to sign
        }
        job = queue[sign_cursor++].get();
        if (!job->needs_signing) {
          continue;
        }
      }
      Status status = SignEntry(config, job->prepared);
      if (!status.ok()) {
        Fail(WithContext(std::move(status).error(), job->prepared.entry.path));
        return;
      }
      std::lock_guard<std::mutex> lock(mu);
      job->done = true;
      changed.notify_all();
    }
  }

  void WriterLoop() {
    while (true) {
      std::unique_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mu);
        changed.wait(lock, [&] {
          return error.has_value() || (!queue.empty() && queue.front()->done) ||
                 (closing && queue.empty());
        });
        if (error.has_value() || queue.empty()) {
          return;
        }
        job = std::move(queue.front());
        queue.pop_front();
        if (sign_cursor > 0) {
          --sign_cursor;
        }
        bytes_in_flight -= job->bytes;
        changed.notify_all();
      }
      Status status = write(job->prepared);
      if (!status.ok()) {
        Fail(std::move(status).error());
        return;
      }
    }
  }
};

SigningPipeline::SigningPipeline(const SigningConfig& config, WriteFn write)
    : shared_(std::make_unique<Shared>()) {
  shared_->config = config;
  shared_->write = std::move(write);
  Shared* s = shared_.get();
  for (int i = 0; i < std::max(1, config.threads); ++i) {
    s->workers.emplace_back([s] { s->WorkerLoop(); });
  }
  s->writer = std::thread([s] { s->WriterLoop(); });
}

SigningPipeline::~SigningPipeline() {
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    if (!shared_->closing && !shared_->error.has_value()) {
      shared_->error = MakeError(ErrorCode::kInternal, "signing cancelled");
    }
    shared_->closing = true;
    shared_->changed.notify_all();
  }
  for (std::thread& t : shared_->workers) {
    if (t.joinable()) {
      t.join();
    }
  }
  if (shared_->writer.joinable()) {
    shared_->writer.join();
  }
}

Status SigningPipeline::Submit(SourceEntry& source_entry) {
  auto job = std::make_unique<Job>();
  PreparedEntry& prepared = job->prepared;
  prepared.entry = std::move(source_entry.entry);
  Entry& entry = prepared.entry;
  if (entry.type == EntryType::kFile) {
    std::string old = DescribeOldSignature(entry);
    if (IsInitramfs(shared_->config, entry)) {
      InitramfsRewrite rewrite;
      IMAB_RETURN_IF_ERROR(
          RewriteInitramfs(source_entry, shared_->config, prepared, &rewrite));
      stats_.initramfs.push_back(std::move(rewrite));
    } else {
      IMAB_RETURN_IF_ERROR(
          ReadContent(source_entry, shared_->config, prepared));
    }
    job->bytes = prepared.inline_content.size();
    bool excluded = false;
    for (const std::string& pattern : shared_->config.exclude) {
      excluded = excluded || GlobMatch(pattern, entry.path);
    }
    job->needs_signing = !excluded;
    if (excluded) {
      ++stats_.excluded_files;
    } else {
      ++stats_.signed_files;
      ++stats_.replaced[old];
    }
  }
  // Signatures from the input are never trusted: signed files get fresh
  // ones, every other entry carries none (only files are appraised).
  std::erase_if(entry.xattrs, [](const Xattr& x) {
    return x.name == kImaXattr || x.name == kEvmXattr;
  });
  job->done = !job->needs_signing;

  Shared& s = *shared_;
  std::unique_lock<std::mutex> lock(s.mu);
  s.changed.wait(lock, [&] {
    return s.error.has_value() || s.queue.empty() ||
           (s.queue.size() < kWindowEntries &&
            s.bytes_in_flight + job->bytes <= kWindowBytes);
  });
  if (s.error.has_value()) {
    return *s.error;
  }
  s.bytes_in_flight += job->bytes;
  s.queue.push_back(std::move(job));
  s.changed.notify_all();
  return OkStatus();
}

Status SigningPipeline::Finish() {
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->closing = true;
    shared_->changed.notify_all();
  }
  for (std::thread& t : shared_->workers) {
    t.join();
  }
  shared_->writer.join();
  std::lock_guard<std::mutex> lock(shared_->mu);
  if (shared_->error.has_value()) {
    return *shared_->error;
  }
  return OkStatus();
}

}  // namespace imab::builder
