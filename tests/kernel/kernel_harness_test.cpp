// The console parser of the kernel harness, on lines as the guest and the
// kernel print them (no boot needed).
#include "tests/kernel/kernel_harness.h"

#include <gtest/gtest.h>

namespace imab::testing {
namespace {

TEST(KernelHarnessParse, ProbesAuditCausesAndKeys) {
  BootResult result = ParseConsole(
      "Loaded X.509 cert 'imabundle kernel test CA a: b61a'\r\n"
      "integrity: Problem loading X.509 certificate -126\n"
      "IMAB-GUEST policy-loaded\n"
      "IMAB-PROBE mmap step=ok errno=0 path=/bin/true\n"
      "IMAB-PROBE mmap step=mmap errno=13 "
      "path=/lib/x86_64-linux-gnu/libc.so.6\n"
      "IMAB-PROBE exec errno=13 status=126 signal=0 timeout=0 path=/bin/echo "
      "out=\n"
      "IMAB-PROBE exec errno=0 status=127 signal=0 timeout=0 path=/bin/ls "
      "out=/bin/ls: error while loading shared libraries: libc.so.6\n"
      "IMAB-PROBE exec errno=0 status=-1 signal=11 timeout=0 path=/bin/cat "
      "out=\n"
      "IMAB-PROBE exec errno=0 status=-1 signal=9 timeout=1 path=/bin/sh out=\n"
      "IMAB-PROBE exec errno=0 status=1 signal=0 timeout=0 path=/bin/false "
      "out=\n"
      "audit: type=1800 audit(1.2:11): pid=63 uid=0 auid=4294967295 "
      "ses=4294967295 op=appraise_data cause=IMA-signature-required "
      "comm=\"probe\" name=\"/mnt/lib/x86_64-linux-gnu/libc.so.6\" dev=\"vda\" "
      "ino=14 res=0 errno=0\n");
  ASSERT_EQ(result.probes.size(), 7u);
  EXPECT_TRUE(result.policy_loaded);
  EXPECT_EQ(result.loaded_certs.size(), 1u);
  EXPECT_EQ(result.refused_certs, 1);
  EXPECT_TRUE(result.probes[0].Passed());
  EXPECT_FALSE(result.probes[1].Passed());
  EXPECT_EQ(result.probes[1].step, "mmap");
  EXPECT_EQ(result.probes[1].error, 13);
  EXPECT_EQ(result.probes[1].cause, "IMA-signature-required");
  EXPECT_FALSE(result.probes[2].Passed());  // execve EACCES
  EXPECT_FALSE(result.probes[3].Passed());  // ld.so could not map a library
  EXPECT_FALSE(result.probes[4].Passed());  // SIGSEGV: interpreter refused
  EXPECT_TRUE(result.probes[5].Passed());   // still running at the deadline
  EXPECT_TRUE(result.probes[6].Passed());   // ran and failed on its own
  EXPECT_EQ(result.probes[3].path, "/bin/ls");
  EXPECT_FALSE(result.AllPassed());
  ASSERT_EQ(result.audits.size(), 1u);
  EXPECT_EQ(result.audits[0].path, "/lib/x86_64-linux-gnu/libc.so.6");
  EXPECT_EQ(result.audits[0].op, "appraise_data");
}

TEST(KernelHarnessParse, NoProbesIsNoPass) {
  EXPECT_FALSE(ParseConsole("IMAB-GUEST mount-failed\n").AllPassed());
}

}  // namespace
}  // namespace imab::testing
