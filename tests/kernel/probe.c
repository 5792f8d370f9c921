/* The guest side of the kernel harness: a static program, run from the
 * initramfs (which the test policy does not appraise), that asks the real
 * kernel what it lets the image do and prints one line per answer:
 *
 *   IMAB-PROBE mmap step=open|mmap|ok errno=N path=/x
 *       for every regular file of ROOT: open(O_RDONLY) (FILE_CHECK) then
 *       mmap(PROT_READ|PROT_EXEC) (MMAP_CHECK), from a process chrooted
 *       into ROOT so audit records name image paths;
 *   IMAB-PROBE exec errno=N status=N signal=N timeout=0|1 path=/x out=TEXT
 *       for every line "PATH [ARG...]" of EXECLIST: fork, chroot(ROOT),
 *       execve (BPRM_CHECK, and MMAP_CHECK for ld.so and what it maps);
 *       errno is execve's, TEXT the first line of its output (escaped).
 *
 * Usage: probe ROOT EXECLIST.  Exit 0 when every probe was made.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { kMaxArgs = 16, kOutMax = 160, kExecSeconds = 10 };

static void print_escaped(const char *text, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    unsigned char c = (unsigned char)text[i];
    if (c == '\n') break;
    if (c < 0x20 || c >= 0x7f || c == '\\') {
      printf("\\x%02x", c);
    } else {
      putchar(c);
    }
  }
}

static int probe_file(const char *path, const struct stat *st, int type,
                      struct FTW *ftw) {
  (void)ftw;
  if (type != FTW_F || !S_ISREG(st->st_mode)) return 0;
  const char *shown = path[0] == '.' ? path + 1 : path;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    printf("IMAB-PROBE mmap step=open errno=%d path=%s\n", errno, shown);
    return 0;
  }
  void *map = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) {
    printf("IMAB-PROBE mmap step=mmap errno=%d path=%s\n", errno, shown);
  } else {
    printf("IMAB-PROBE mmap step=ok errno=0 path=%s\n", shown);
    munmap(map, 4096);
  }
  close(fd);
  return 0;
}

/* Every regular file, from a child chrooted into root. */
static int probe_all_files(const char *root) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (chroot(root) != 0 || chdir("/") != 0) _exit(2);
    int rc = nftw(".", probe_file, 64, FTW_PHYS | FTW_MOUNT);
    fflush(stdout);
    _exit(rc == 0 ? 0 : 3);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void exec_child(const char *root, char **argv, int out_fd,
                       int err_pipe) {
  int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd >= 0) dup2(null_fd, 0);
  dup2(out_fd, 1);
  dup2(out_fd, 2);
  setsid();
  if (chroot(root) != 0 || chdir("/") != 0) _exit(126);
  char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/", NULL};
  execve(argv[0], argv, envp);
  int e = errno;
  (void)!write(err_pipe, &e, sizeof e);
  _exit(126);
}

/* Reads the child's output (first kOutMax bytes kept) until it exits or
 * the deadline passes; returns 1 on timeout. */
static int collect(pid_t pid, int out_fd, char *out, size_t *len) {
  time_t deadline = time(NULL) + kExecSeconds;
  fcntl(out_fd, F_SETFL, O_NONBLOCK);
  for (;;) {
    char buf[512];
    ssize_t n = read(out_fd, buf, sizeof buf);
    if (n > 0) {
      size_t room = kOutMax - *len;
      size_t take = (size_t)n < room ? (size_t)n : room;
      memcpy(out + *len, buf, take);
      *len += take;
      continue;
    }
    if (n == 0) return 0;
    if (waitpid(pid, NULL, WNOHANG) != 0) return 0;
    if (time(NULL) > deadline) return 1;
    usleep(20000);
  }
}

static void probe_exec(const char *root, char *line) {
  char *argv[kMaxArgs + 1];
  int argc = 0;
  for (char *tok = strtok(line, " \t\n"); tok && argc < kMaxArgs;
       tok = strtok(NULL, " \t\n")) {
    argv[argc++] = tok;
  }
  if (argc == 0) return;
  argv[argc] = NULL;
  int out_pipe[2], err_pipe[2];
  if (pipe(out_pipe) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) return;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    exec_child(root, argv, out_pipe[1], err_pipe[1]);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  char out[kOutMax];
  size_t len = 0;
  int timed_out = collect(pid, out_pipe[0], out, &len);
  if (timed_out) kill(-pid, SIGKILL), kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  int exec_errno = 0;
  if (read(err_pipe[0], &exec_errno, sizeof exec_errno) != sizeof exec_errno)
    exec_errno = 0;
  close(out_pipe[0]);
  close(err_pipe[0]);
  printf("IMAB-PROBE exec errno=%d status=%d signal=%d timeout=%d path=%s out=",
         exec_errno, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
         WIFSIGNALED(status) ? WTERMSIG(status) : 0, timed_out, argv[0]);
  print_escaped(out, len);
  putchar('\n');
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: probe ROOT EXECLIST\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (probe_all_files(argv[1]) != 0) {
    printf("IMAB-PROBE error walking %s\n", argv[1]);
  }
  FILE *list = fopen(argv[2], "r");
  if (list == NULL) {
    printf("IMAB-PROBE error opening %s\n", argv[2]);
    return 1;
  }
  char line[1024];
  while (fgets(line, sizeof line, list) != NULL) {
    if (line[0] != '#') probe_exec(argv[1], line);
  }
  fclose(list);
  printf("IMAB-PROBE done\n");
  return 0;
}
