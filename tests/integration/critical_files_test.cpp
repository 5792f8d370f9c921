// Critical files end to end (issue 12 item 6, issue 13 item 3): bundles
// built by imab-build whose init, libc or ELF interpreter reaches an
// unsigned file of uid 1000 through a hardlink, a symlink chain or an ELF
// dependency, or that have no init at all, judged by `imab-verify verify
// --root` and `install`. The kernel appraises per hook: on a device whose
// policy (appraise_tcb) does not appraise files of uid 1000 these files are
// never checked and the bundle is accepted; under a policy whose hook
// reaches them it is refused naming that hook and what breaks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "tests/testutil/device_fixture.h"
#include "tests/testutil/sample_tree.h"

namespace imab::testing {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

constexpr const char* kLibc = "usr/lib/x86_64-linux-gnu/libc.so.6";
constexpr const char* kLdSo = "lib64/ld-linux-x86-64.so.2";

class CriticalFilesTest : public DeviceTest {
 protected:
  void SetUp() override {
    CommandResult init = device_->Init();
    ASSERT_EQ(init.exit_code, 0) << init.err;
    Put("etc/hostname", "device\n", 0644);
    Put(kLibc, "stand-in libc\n", 0755);
    Put(kLdSo, "stand-in ld.so\n", 0755);
    Put("sbin/init", "stand-in init\n", 0755);
    fs::create_directories(rootfs_ + "/home/user");
  }

  // Initialises the device again with `policy` as its IMA policy.
  void UsePolicy(const std::string& policy) {
    const std::string file = dir_.Sub("device.policy");
    WriteFile(file, policy);
    CommandResult init =
        device_->Init("--force --ima-policy " + ShellQuote(file));
    ASSERT_EQ(init.exit_code, 0) << init.err;
  }

  void Put(const std::string& path, const std::string& content, unsigned mode) {
    PutFile(rootfs_, path, content, static_cast<fs::perms>(mode));
  }

  // A file of uid 1000 that the build leaves unsigned (its owner's files
  // are not appraised, so a device would otherwise not care).
  void PutUserFile(const std::string& path, const std::string& content) {
    Put(path, content, 0755);
    ASSERT_EQ(::lchown((rootfs_ + "/" + path).c_str(), 1000, 1000), 0);
  }

  void Remove(const std::string& path) { fs::remove(rootfs_ + "/" + path); }

  void Symlink(const std::string& target, const std::string& path) {
    fs::remove(rootfs_ + "/" + path);
    fs::create_directories(fs::path(rootfs_ + "/" + path).parent_path());
    fs::create_symlink(target, rootfs_ + "/" + path);
  }

  void Hardlink(const std::string& existing, const std::string& path) {
    fs::remove(rootfs_ + "/" + path);
    fs::create_hard_link(rootfs_ + "/" + existing, rootfs_ + "/" + path);
  }

  // Compiles `source` (C) into the image at `path` with `flags`.
  void Compile(const std::string& path, const std::string& source,
               const std::string& flags) {
    const std::string c = dir_.Sub(fs::path(path).filename().string() + ".c");
    WriteFile(c, source);
    fs::create_directories(fs::path(rootfs_ + "/" + path).parent_path());
    CommandResult cc =
        RunShell("gcc -O1 -o " + ShellQuote(rootfs_ + "/" + path) + " " +
                 ShellQuote(c) + " " + flags);
    ASSERT_EQ(cc.exit_code, 0) << cc.err;
  }

  std::string Build(const std::string& name) {
    std::string bundle = dir_.Sub(name + ".imab");
    BuildVersion(
        rootfs_, bundle, *keys_, "1.0",
        device_->ImaBuildFlags() + " --ima-exclude 'home/**' " + extra_build_);
    return bundle;
  }

  CommandResult Judge(const std::string& bundle) {
    return RunVerifyOnDevice(bundle, device_->root(), "--no-time-check");
  }

  // Refused by verify --root and by install, naming `path` and the
  // consequence; install activates nothing.
  void ExpectRefused(const std::string& bundle, const std::string& path,
                     const std::string& consequence) {
    CommandResult judged = Judge(bundle);
    EXPECT_NE(judged.exit_code, 0) << judged.out;
    EXPECT_THAT(judged.err, HasSubstr("/" + path));
    EXPECT_THAT(judged.err, HasSubstr(consequence));
    const std::string active = device_->ActiveSlotName();
    CommandResult installed = device_->Install(bundle);
    EXPECT_NE(installed.exit_code, 0) << installed.out;
    EXPECT_THAT(installed.err, HasSubstr("/" + path));
    EXPECT_EQ(device_->ActiveSlotName(), active);  // nothing activated
  }

  // Accepted by verify --root (nothing installed).
  void ExpectVerified(const std::string& bundle) {
    CommandResult judged = Judge(bundle);
    EXPECT_EQ(judged.exit_code, 0) << judged.err;
  }

  void ExpectAccepted(const std::string& bundle) {
    CommandResult judged = Judge(bundle);
    EXPECT_EQ(judged.exit_code, 0) << judged.err;
    const std::string active = device_->ActiveSlotName();
    CommandResult installed = device_->Install(bundle);
    EXPECT_EQ(installed.exit_code, 0) << installed.err;
    EXPECT_NE(device_->ActiveSlotName(), active);  // switched
  }

  std::string extra_build_;
};

constexpr const char* kLibcFails =
    "appraised at MMAP_CHECK (mmap PROT_EXEC): every dynamically linked "
    "program, init included, would fail to map libc";
constexpr const char* kInitFails = "could not start init";
constexpr const char* kMmapPolicy = "appraise func=MMAP_CHECK\n";
constexpr const char* kBprmPolicy = "appraise func=BPRM_CHECK\n";
constexpr const char* kExecOpenPolicy =
    "appraise func=FILE_CHECK mask=MAY_EXEC\n";

TEST_F(CriticalFilesTest, TheStandInImageIsAccepted) {
  ExpectAccepted(Build("good"));
}

TEST_F(CriticalFilesTest, LibcHardlinkedToAnUnsignedUserFileIsRefused) {
  PutUserFile("home/user/evil", "not libc\n");
  Hardlink("home/user/evil", kLibc);
  ExpectVerified(Build("libc-tcb"));  // uid 1000's inode: not appraised
  UsePolicy(kMmapPolicy);
  ExpectRefused(Build("libc"), "home/user/evil", kLibcFails);
}

TEST_F(CriticalFilesTest, LdSoHardlinkedToAnUnsignedUserFileIsRefused) {
  PutUserFile("home/user/ld", "not ld.so\n");
  Hardlink("home/user/ld", kLdSo);
  ExpectVerified(Build("ldso-tcb"));
  UsePolicy(kMmapPolicy);
  ExpectRefused(Build("ldso"), "home/user/ld",
                "appraised at MMAP_CHECK (mmap PROT_EXEC): the ELF "
                "interpreter: every dynamically linked program would be "
                "killed (SIGSEGV) at exec");
}

TEST_F(CriticalFilesTest, InitSymlinkToAnUnsignedUserTargetIsRefused) {
  PutUserFile("home/user/init", "not init\n");
  Symlink("/home/user/init", "sbin/init");
  ExpectVerified(Build("init-link-tcb"));
  UsePolicy(kBprmPolicy);
  ExpectRefused(Build("init-link"), "home/user/init",
                "appraised at BPRM_CHECK (execve): the kernel could not "
                "start init (execve EACCES");
}

TEST_F(CriticalFilesTest, InitTwoHopsThroughASymlinkedLibFolderIsRefused) {
  // sbin/init -> ../lib/init-real, lib -> usr/lib,
  // usr/lib/init-real -> ../../home/user/init
  PutUserFile("home/user/init", "not init\n");
  Symlink("usr/lib", "lib");
  Symlink("../../home/user/init", "usr/lib/init-real");
  Symlink("../lib/init-real", "sbin/init");
  UsePolicy(kBprmPolicy);
  ExpectRefused(Build("init-hops"), "home/user/init", kInitFails);
}

TEST_F(CriticalFilesTest, AnImageWithoutInitIsRefused) {
  Remove("sbin/init");
  ExpectRefused(Build("no-init"), "sbin/init", "No working init found");
}

TEST_F(CriticalFilesTest, ADanglingInitSymlinkIsRefused) {
  Symlink("../lib/systemd/systemd", "sbin/init");
  ExpectRefused(Build("dangling"), "sbin/init", kInitFails);
}

// The kernel opens PT_INTERP with open_exec() (FILE_CHECK, MAY_EXEC) and
// maps it; it never runs the bprm hook for it.
TEST_F(CriticalFilesTest, InitWhoseElfInterpreterIsUnsignedIsRefused) {
  if (!HaveTool("gcc")) {
    GTEST_SKIP() << "gcc not installed";
  }
  PutUserFile("home/user/ld.so", "not an interpreter\n");
  Compile("sbin/init", "int main(void) { return 0; }\n",
          "-Wl,--dynamic-linker=/home/user/ld.so");
  UsePolicy(kBprmPolicy);
  ExpectVerified(Build("interp-bprm"));
  UsePolicy(kExecOpenPolicy);
  ExpectRefused(Build("interp"), "home/user/ld.so",
                "appraised at FILE_CHECK mask=MAY_EXEC (execve's open): the "
                "kernel could not open it as the ELF interpreter: execve of "
                "every program using it would fail with EACCES, so the "
                "kernel could not start init");
}

TEST_F(CriticalFilesTest, InitWhoseNeededLibraryIsUnsignedIsRefused) {
  if (!HaveTool("gcc")) {
    GTEST_SKIP() << "gcc not installed";
  }
  const std::string lib = "usr/lib/x86_64-linux-gnu/libimabtest.so.1";
  Compile(lib, "int imab_test(void) { return 7; }\n",
          "-shared -fPIC -Wl,-soname,libimabtest.so.1");
  ASSERT_EQ(::lchown((rootfs_ + "/" + lib).c_str(), 1000, 1000), 0);
  Compile("sbin/init",
          "int imab_test(void);\nint main(void) { return imab_test(); }\n",
          ShellQuote(rootfs_ + "/" + lib));
  extra_build_ = "--ima-exclude 'usr/lib/x86_64-linux-gnu/libimabtest*'";
  ExpectVerified(Build("needed-tcb"));
  UsePolicy(kMmapPolicy);
  ExpectRefused(Build("needed"), lib,
                "appraised at MMAP_CHECK (mmap PROT_EXEC): ld.so could not "
                "map it");
}

// search_binary_handler() runs the bprm hook again for the interpreter.
TEST_F(CriticalFilesTest, ScriptInitWhoseInterpreterIsUnsignedIsRefused) {
  PutUserFile("home/user/sh", "not a shell\n");
  Put("sbin/init", "#!/home/user/sh\nexec /usr/bin/app\n", 0755);
  ExpectVerified(Build("script-tcb"));
  UsePolicy(kBprmPolicy);
  ExpectRefused(Build("script"), "home/user/sh",
                "appraised at BPRM_CHECK (execve): execve of it");
}

TEST_F(CriticalFilesTest, LibraryNeededByALibraryOfInitIsCritical) {
  if (!HaveTool("gcc")) {
    GTEST_SKIP() << "gcc not installed";
  }
  // init -> libouter.so.1 (signed, RUNPATH $ORIGIN/../../../opt/inner) ->
  // libinner.so.1 (uid 1000, unsigned).
  const std::string inner = "opt/inner/libinner.so.1";
  const std::string outer = "usr/lib/x86_64-linux-gnu/libouter.so.1";
  Compile(inner, "int inner(void) { return 1; }\n",
          "-shared -fPIC -Wl,-soname,libinner.so.1");
  ASSERT_EQ(::lchown((rootfs_ + "/" + inner).c_str(), 1000, 1000), 0);
  Compile(outer, "int inner(void);\nint outer(void) { return inner(); }\n",
          "-shared -fPIC -Wl,-soname,libouter.so.1 " +
              ShellQuote(rootfs_ + "/" + inner) +
              " '-Wl,-rpath,$ORIGIN/../../../opt/inner'");
  Compile("sbin/init", "int outer(void);\nint main(void) { return outer(); }\n",
          ShellQuote(rootfs_ + "/" + outer) + " -Wl,--allow-shlib-undefined");
  extra_build_ = "--ima-exclude 'opt/inner/**'";
  ExpectVerified(Build("transitive-tcb"));
  // Opened for reading by ld.so: FILE_CHECK with MAY_READ.
  UsePolicy("appraise func=FILE_CHECK mask=MAY_READ\n");
  ExpectRefused(Build("transitive"), inner,
                "appraised at FILE_CHECK (open): ld.so could not open it");
}

// device.conf's own `critical` lines are the owner's demand: what they
// name must verify even where the policy appraises it at no hook.
TEST_F(CriticalFilesTest, AnOwnCriticalLineDemandsMoreThanTheKernel) {
  PutUserFile("home/user/app", "the application\n");
  ExpectVerified(Build("own-tcb"));
  const std::string conf = device_->root() + "/etc/imabundle/device.conf";
  WriteFile(conf, ReadFile(conf) + "critical = /home/user/app\n");
  ExpectRefused(Build("own"), "home/user/app",
                "the IMA policy appraises it at no hook, so the kernel would "
                "not refuse it; device.conf's `critical = home/user/app` "
                "requires it to verify");
}

TEST_F(CriticalFilesTest, StaticInitWithoutLibcIsAccepted) {
  if (!HaveTool("gcc") ||
      RunShell("echo 'int main(void){return 0;}' | gcc -static -x c - -o " +
               ShellQuote(dir_.Sub("probe")))
              .exit_code != 0) {
    GTEST_SKIP() << "no gcc with a static libc";
  }
  Remove(kLibc);
  Remove(kLdSo);
  Compile("sbin/init", "int main(void) { return 0; }\n", "-static");
  ExpectAccepted(Build("static"));
}

TEST_F(CriticalFilesTest, DynamicInitWithSignedDependenciesIsAccepted) {
  if (!HaveTool("gcc")) {
    GTEST_SKIP() << "gcc not installed";
  }
  // Needs libc.so.6 and /lib64/ld-linux-x86-64.so.2: the signed stand-ins.
  Compile("sbin/init", "int main(void) { return 0; }\n", "");
  ExpectAccepted(Build("dynamic"));
}

// An x86-64 ELF executable with one PT_LOAD and a PT_INTERP for each of
// `interpreters`, in that order (fs/binfmt_elf.c uses the first).
std::string ElfWithInterpreters(const std::vector<std::string>& interpreters) {
  std::string elf(0x200 + 0x100 * interpreters.size(), '\0');
  auto put = [&](size_t at, uint64_t value, size_t width) {
    for (size_t i = 0; i < width; ++i) {
      elf[at + i] = static_cast<char>(value >> (8 * i));
    }
  };
  elf.replace(0, 7,
              "\x7f"
              "ELF\x02\x01\x01");
  put(16, 2, 2);     // ET_EXEC
  put(18, 0x3e, 2);  // EM_X86_64
  put(20, 1, 4);     // EV_CURRENT
  put(24, 0x400000, 8);
  put(32, 64, 8);  // e_phoff
  put(52, 64, 2);  // e_ehsize
  put(54, 56, 2);  // e_phentsize
  put(56, 1 + interpreters.size(), 2);
  auto phdr = [&](size_t i, uint32_t type, uint64_t offset, uint64_t size) {
    const size_t at = 64 + 56 * i;
    put(at, type, 4);
    put(at + 4, 4, 4);  // PF_R
    put(at + 8, offset, 8);
    put(at + 16, 0x400000 + offset, 8);
    put(at + 24, 0x400000 + offset, 8);
    put(at + 32, size, 8);
    put(at + 40, size, 8);
  };
  phdr(0, 1, 0, elf.size());
  for (size_t i = 0; i < interpreters.size(); ++i) {
    const size_t at = 0x200 + 0x100 * i;
    elf.replace(at, interpreters[i].size(), interpreters[i]);
    phdr(1 + i, 3, at, interpreters[i].size() + 1);
  }
  return elf;
}

// The kernel starts the first PT_INTERP: an unsigned one before the signed
// ld.so is the interpreter of init.
TEST_F(CriticalFilesTest, InitWhoseFirstOfTwoInterpretersIsUnsignedIsRefused) {
  UsePolicy(kExecOpenPolicy);
  PutUserFile("home/user/ld.so", "not an interpreter\n");
  Put("sbin/init",
      ElfWithInterpreters({"/home/user/ld.so", "/" + std::string(kLdSo)}),
      0755);
  ExpectRefused(Build("first-interp"), "home/user/ld.so", kInitFails);
}

TEST_F(CriticalFilesTest, InitWhoseFirstOfTwoInterpretersIsSignedIsAccepted) {
  UsePolicy(kExecOpenPolicy);
  PutUserFile("home/user/ld.so", "not an interpreter\n");
  Put("sbin/init",
      ElfWithInterpreters({"/" + std::string(kLdSo), "/home/user/ld.so"}),
      0755);
  ExpectAccepted(Build("second-interp"));
}

}  // namespace
}  // namespace imab::testing
