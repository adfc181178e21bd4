/*
 * boxplay-init: PID 1 of the v86 guest. Linked into the kernel as its initramfs, so a saved
 * machine state holds no image files: the host puts the image into the 9p filesystem after
 * booting or restoring, just before it sends the run's spec.
 *
 *   boot -> mount devtmpfs, devpts, proc, sys and the (still empty) 9p filesystem,
 *           open the control UART (ttyS1), send 'R', wait for 'S'   <- saved states resume here
 *        -> move the kernel filesystems into the image's root, switch root into it
 *        -> lo, and eth0 when the host gave a network; /etc/hosts from the host
 *        -> hostname, clock, user, env, cwd -> fork the command (tty or pipes)
 *        -> relay pipes/signals/resizes until the command exits -> flush, sync, send 'X'
 *
 * Works for images without a shell: nothing here execs anything but the command itself.
 * See protocol.h for the frames.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/random.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "protocol.h"

#define NEWROOT "/newroot"
#define MAX_LIST 4096
#define EXIT_INIT_FAILED 125

extern char **environ;

/* ---------- the control channel ---------- */

static int ctl = -1;

static void write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return; /* the host went away: nothing useful left to do */
    }
    p += n;
    len -= (size_t)n;
  }
}

static void send_frame(char type, const void *payload, size_t len) {
  unsigned char head[FRAME_HEADER] = {(unsigned char)type, (unsigned char)len, (unsigned char)(len >> 8),
                                      (unsigned char)(len >> 16), (unsigned char)(len >> 24)};
  write_all(ctl, head, sizeof head);
  if (len) write_all(ctl, payload, len);
}

/* Two NUL-terminated fields, the shape of 'R'. */
static void send_fields(char type, const char *a, const char *b) {
  char buf[512];
  size_t la = strlen(a) + 1, lb = b ? strlen(b) + 1 : 0;
  if (la + lb > sizeof buf) return;
  memcpy(buf, a, la);
  if (b) memcpy(buf + la, b, lb);
  send_frame(type, buf, la + lb);
}

static void failf(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  send_frame('F', msg, strlen(msg));
}

/* An init failure before the command ran: tell the host why, report 125, idle. */
static void give_up(void) {
  char st[16];
  snprintf(st, sizeof st, "%d", EXIT_INIT_FAILED << 8);
  send_fields('X', st, NULL);
  for (;;) pause();
}

struct reader {
  unsigned char *buf;
  size_t len, cap;
};

/* Reads what is available (blocking if `block`); returns 0 on EOF/error. */
static int reader_fill(struct reader *r, int block) {
  if (r->cap - r->len < 4096) {
    r->cap = r->cap ? r->cap * 2 : 65536;
    r->buf = realloc(r->buf, r->cap);
    if (!r->buf) return 0;
  }
  for (;;) {
    ssize_t n = read(ctl, r->buf + r->len, r->cap - r->len);
    if (n > 0) {
      r->len += (size_t)n;
      return 1;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN && !block) return 1;
    return 0;
  }
}

/* Takes one complete frame off the front, if there is one. Payload is NUL-terminated. */
static int reader_next(struct reader *r, char *type, unsigned char **payload, size_t *len) {
  if (r->len < FRAME_HEADER) return 0;
  size_t n = (size_t)r->buf[1] | (size_t)r->buf[2] << 8 | (size_t)r->buf[3] << 16 | (size_t)r->buf[4] << 24;
  if (n > FRAME_MAX_PAYLOAD) {
    /* A corrupt stream: drop everything and resynchronise on the next write. */
    r->len = 0;
    return 0;
  }
  if (r->len < FRAME_HEADER + n) {
    if (r->cap < FRAME_HEADER + n + 1) {
      r->cap = FRAME_HEADER + n + 1;
      r->buf = realloc(r->buf, r->cap);
    }
    return 0;
  }
  *type = (char)r->buf[0];
  *payload = malloc(n + 1);
  memcpy(*payload, r->buf + FRAME_HEADER, n);
  (*payload)[n] = 0;
  *len = n;
  memmove(r->buf, r->buf + FRAME_HEADER + n, r->len - FRAME_HEADER - n);
  r->len -= FRAME_HEADER + n;
  return 1;
}

static void make_raw(int fd) {
  struct termios t;
  if (tcgetattr(fd, &t) != 0) return;
  cfmakeraw(&t);
  t.c_cflag |= CLOCAL | CREAD;
  t.c_cflag &= ~CRTSCTS;
  tcsetattr(fd, TCSANOW, &t);
}

/* ---------- the spec ---------- */

struct spec {
  char *argv[MAX_LIST + 1];
  int argc;
  char *env[MAX_LIST + 2];
  int envc;
  const char *cwd, *user, *hostname, *seed, *identity, *home, *path, *network, *hosts;
  int tty, cols, rows, stdin_open;
  long long clock_ms;
};

static void parse_spec(struct spec *s, unsigned char *p, size_t len) {
  memset(s, 0, sizeof *s);
  s->cwd = "/";
  s->user = "";
  s->hostname = "boxplay";
  size_t i = 0;
  while (i < len) {
    char key = (char)p[i++];
    char *value = (char *)p + i;
    size_t vlen = strnlen(value, len - i);
    i += vlen + 1;
    switch (key) {
      case 'a': if (s->argc < MAX_LIST) s->argv[s->argc++] = value; break;
      case 'e': if (s->envc < MAX_LIST) s->env[s->envc++] = value; break;
      case 'c': s->cwd = value; break;
      case 'p': s->path = value; break;
      case 'u': s->user = value; break;
      case 'U': s->identity = value; break;
      case 'H': s->home = value; break;
      case 'h': s->hostname = value; break;
      case 'r': s->seed = value; break;
      case 'n': s->network = value; break;
      case 'o': s->hosts = value; break;
      case 'i': s->stdin_open = value[0] == '1'; break;
      case 'T': s->clock_ms = atoll(value); break;
      case 't': s->tty = sscanf(value, "%d %d", &s->cols, &s->rows) == 2; break;
      default: break; /* newer hosts may send more: ignore what we don't know */
    }
  }
}

static const char *env_get(struct spec *s, const char *name) {
  size_t n = strlen(name);
  for (int i = 0; i < s->envc; i++)
    if (strncmp(s->env[i], name, n) == 0 && s->env[i][n] == '=') return s->env[i] + n + 1;
  return NULL;
}

/* ---------- filesystems ---------- */

static int mount_at(const char *src, const char *target, const char *type, unsigned long flags, const char *data) {
  mkdir(target, 0755); /* may exist already; mount reports the real problem */
  if (mount(src, target, type, flags, data) != 0) {
    failf("boxplay-init: cannot mount %s on %s: %s", type, target, strerror(errno));
    return -1;
  }
  return 0;
}

static int mkdir_p(const char *path, mode_t mode) {
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) return -1;
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(tmp, mode) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return mkdir(tmp, mode) != 0 && errno != EEXIST ? -1 : 0;
}

/*
 * The kernel filesystems are mounted at boot, before the machine state is saved, under /pre
 * (and /dev) in the initramfs; a run only moves them into the image. Creating them after a
 * restore took most of init's time: the emulator's JIT has not seen those kernel paths yet.
 */
/* No tmpfs on /tmp: as in Docker, /tmp is the image's own directory, so what a run writes
   there is part of its changes (a build's layer, a commit, the Files panel) in v86 as natively. */
static const char *const PREMOUNTED[][2] = {{"/pre/proc", "proc"}, {"/pre/sys", "sys"}, {"/dev", "dev"}};

static int premount(void) {
  if (mount_at("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5") != 0)
    return -1;
  if (mount_at("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") != 0) return -1;
  /* /dev/ptmx of devtmpfs belongs to the initial devpts instance: point it at ours. */
  unlink("/dev/ptmx");
  symlink("pts/ptmx", "/dev/ptmx");
  symlink("/proc/self/fd", "/dev/fd");
  symlink("/proc/self/fd/0", "/dev/stdin");
  symlink("/proc/self/fd/1", "/dev/stdout");
  symlink("/proc/self/fd/2", "/dev/stderr");
  mkdir("/pre", 0755);
  if (mount_at("proc", "/pre/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) return -1;
  if (mount_at("sysfs", "/pre/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) return -1;
  return 0;
}

/* msize: v86 takes any size the client asks for; big messages mean few round trips through
   the emulated virtqueue when a binary is paged in (8 KiB made exec of busybox crawl).
   512000 is the most Linux's virtio transport carries (125 pages). */
/*
 * Attached at boot, while the host's 9p filesystem is still empty, so a restored machine
 * skips the handshake. Safe because nothing looks inside before the spec arrives: the guest
 * caches no entries of the empty root, and the host adds the image under that same root.
 */
static int attach_image(void) {
  return mount_at("host9p", NEWROOT, "9p", 0, "trans=virtio,version=9p2000.L,cache=loose,msize=512000");
}

static int enter_image(void) {
  for (size_t i = 0; i < sizeof PREMOUNTED / sizeof PREMOUNTED[0]; i++) {
    char target[64];
    snprintf(target, sizeof target, NEWROOT "/%s", PREMOUNTED[i][1]);
    /* Images without /proc, /sys or /dev get one; the others cost no mkdir round trip. */
    int moved = mount(PREMOUNTED[i][0], target, NULL, MS_MOVE, NULL) == 0;
    if (!moved && errno == ENOENT && mkdir(target, 0755) == 0) moved = mount(PREMOUNTED[i][0], target, NULL, MS_MOVE, NULL) == 0;
    if (!moved) {
      failf("boxplay-init: cannot mount /%s in the image: %s", PREMOUNTED[i][1], strerror(errno));
      return -1;
    }
  }
  /* switch_root: the initramfs can't be pivoted away, so move the new root over "/". */
  if (chdir(NEWROOT) != 0 || mount(".", "/", NULL, MS_MOVE, NULL) != 0 || chroot(".") != 0 || chdir("/") != 0) {
    failf("boxplay-init: cannot switch into the image's root: %s", strerror(errno));
    return -1;
  }
  return 0;
}

/* ---------- network ---------- */

static int ifreq_for(struct ifreq *ifr, const char *name) {
  memset(ifr, 0, sizeof *ifr);
  snprintf(ifr->ifr_name, IFNAMSIZ, "%s", name);
  return 0;
}

static int set_up(int sock, const char *name) {
  struct ifreq ifr;
  ifreq_for(&ifr, name);
  if (ioctl(sock, SIOCGIFFLAGS, &ifr) != 0) return -1;
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  return ioctl(sock, SIOCSIFFLAGS, &ifr);
}

static int set_inet(int sock, unsigned long request, const char *name, struct in_addr addr) {
  struct ifreq ifr;
  ifreq_for(&ifr, name);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr = addr};
  memcpy(&ifr.ifr_addr, &sin, sizeof sin);
  return ioctl(sock, request, &ifr);
}

/*
 * The machine state is saved before any run, so every restored guest starts with eth0 down and
 * the MAC v86 drew at that boot: the host's switch gives each guest its own MAC and address
 * here, after the restore. spec 'n': "ADDRESS PREFIX GATEWAY|- MAC". lo comes up always, as in
 * a container with --network none.
 */
static int configure_network(const char *network) {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) {
    failf("boxplay-init: no IPv4 sockets in this kernel: %s", strerror(errno));
    return -1;
  }
  int rc = -1;
  if (set_up(sock, "lo") != 0) {
    failf("boxplay-init: cannot bring up lo: %s", strerror(errno));
    goto out;
  }
  if (!network) {
    rc = 0;
    goto out;
  }
  char addr_text[32], gw_text[32], mac_text[32];
  int prefix;
  unsigned int mac[6];
  struct in_addr addr, gw = {0};
  if (sscanf(network, "%31s %d %31s %31s", addr_text, &prefix, gw_text, mac_text) != 4 || prefix < 1 || prefix > 32 ||
      inet_pton(AF_INET, addr_text, &addr) != 1 || (strcmp(gw_text, "-") != 0 && inet_pton(AF_INET, gw_text, &gw) != 1) ||
      sscanf(mac_text, "%x:%x:%x:%x:%x:%x", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) != 6) {
    failf("boxplay-init: bad network in the spec: %s", network);
    goto out;
  }
  struct ifreq ifr;
  ifreq_for(&ifr, "eth0");
  ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
  for (int i = 0; i < 6; i++) ifr.ifr_hwaddr.sa_data[i] = (char)mac[i];
  if (ioctl(sock, SIOCSIFHWADDR, &ifr) != 0) {
    failf("boxplay-init: cannot set eth0's MAC address (is the NIC there?): %s", strerror(errno));
    goto out;
  }
  struct in_addr mask = {.s_addr = htonl(prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix))};
  if (set_inet(sock, SIOCSIFADDR, "eth0", addr) != 0 || set_inet(sock, SIOCSIFNETMASK, "eth0", mask) != 0 ||
      set_up(sock, "eth0") != 0) {
    failf("boxplay-init: cannot configure eth0 as %s/%d: %s", addr_text, prefix, strerror(errno));
    goto out;
  }
  if (gw.s_addr) {
    struct rtentry rt;
    memset(&rt, 0, sizeof rt);
    struct sockaddr_in any = {.sin_family = AF_INET}, via = {.sin_family = AF_INET, .sin_addr = gw};
    memcpy(&rt.rt_dst, &any, sizeof any);
    memcpy(&rt.rt_genmask, &any, sizeof any);
    memcpy(&rt.rt_gateway, &via, sizeof via);
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    if (ioctl(sock, SIOCADDRT, &rt) != 0) {
      failf("boxplay-init: cannot route through %s: %s", gw_text, strerror(errno));
      goto out;
    }
  }
  rc = 0;
out:
  close(sock);
  return rc;
}

/* The hosts file lives in the initramfs and is bind-mounted over the image's /etc/hosts, as
   Docker does: the image is not changed, and init keeps it open to rewrite it when the host
   sends a new one (frame 'N', when guests join or leave the network). */
static int hosts_fd = -1;

static void write_hosts(const char *text, size_t len) {
  if (hosts_fd < 0) return;
  if (ftruncate(hosts_fd, 0) != 0) return;
  size_t at = 0;
  while (at < len) {
    ssize_t n = pwrite(hosts_fd, text + at, len - at, (off_t)at);
    if (n <= 0 && errno != EINTR) return;
    if (n > 0) at += (size_t)n;
  }
}

static int install_hosts(const char *text) {
  hosts_fd = open("/boxplay-hosts", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (hosts_fd < 0) {
    failf("boxplay-init: cannot write the hosts file: %s", strerror(errno));
    return -1;
  }
  write_hosts(text, strlen(text));
  const char *target = NEWROOT "/etc/hosts";
  if (mount("/boxplay-hosts", target, NULL, MS_BIND, NULL) == 0) return 0;
  /* An image without /etc/hosts gets an empty one to mount over. */
  int made = errno == ENOENT && mkdir_p(NEWROOT "/etc", 0755) == 0;
  int fd = made ? open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644) : -1;
  if (fd >= 0) close(fd);
  if (fd < 0 || mount("/boxplay-hosts", target, NULL, MS_BIND, NULL) != 0) {
    failf("boxplay-init: cannot mount the hosts file on /etc/hosts: %s", strerror(errno));
    return -1;
  }
  return 0;
}

/* 'L' -> 'P': the TCP sockets listening now, "ADDRESS:PORT" space-separated, read from
   /proc/net/tcp (the image's /proc once the command runs), so the host can show the ports a
   run serves without guessing. */
static void report_listening(void) {
  char out[2048] = "", line[512];
  size_t used = 0;
  FILE *f = fopen("/proc/net/tcp", "r");
  while (f && fgets(line, sizeof line, f)) {
    unsigned int ip, port, state;
    if (sscanf(line, " %*d: %8x:%4x %*8x:%*4x %2x", &ip, &port, &state) != 3 || state != 0x0A) continue;
    /* /proc prints the address as the host-order view of a network-order word. */
    struct in_addr a = {.s_addr = ip};
    char entry[40];
    int n = snprintf(entry, sizeof entry, "%s%s:%u", used ? " " : "", inet_ntoa(a), port);
    if (n < 0 || used + (size_t)n >= sizeof out) break;
    memcpy(out + used, entry, (size_t)n + 1);
    used += (size_t)n;
  }
  if (f) fclose(f);
  send_fields('P', out, NULL);
}

/* ---------- user ---------- */

struct identity {
  uid_t uid;
  gid_t gid;
  gid_t groups[64];
  int ngroups;
  char home[1024];
};

static int is_number(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (!isdigit((unsigned char)*s)) return 0;
  return 1;
}

/* Splits a colon-separated line in place; returns the number of fields. */
static int split_colons(char *line, char **fields, int max) {
  int n = 0;
  fields[n++] = line;
  for (char *p = line; *p && n < max; p++)
    if (*p == ':') {
      *p = 0;
      fields[n++] = p + 1;
    }
  char *nl = strchr(fields[n - 1], '\n');
  if (nl) *nl = 0;
  return n;
}

/* /etc/passwd and /etc/group are parsed here, not through NSS: a static init has none. */
static int resolve_user(const char *spec, struct identity *id) {
  char user[256], group[256] = "";
  const char *colon = strchr(spec, ':');
  snprintf(user, sizeof user, "%.*s", colon ? (int)(colon - spec) : (int)strlen(spec), spec);
  if (colon) snprintf(group, sizeof group, "%s", colon + 1);
  if (!*user) snprintf(user, sizeof user, "0");
  memset(id, 0, sizeof *id);
  snprintf(id->home, sizeof id->home, "%s", "/");

  char line[2048], *f[8], name[256] = "";
  int found = 0;
  FILE *pw = fopen("/etc/passwd", "r");
  while (pw && fgets(line, sizeof line, pw)) {
    if (split_colons(line, f, 8) < 7) continue;
    if (is_number(user) ? (uid_t)strtoul(f[2], NULL, 10) == (uid_t)strtoul(user, NULL, 10) : strcmp(f[0], user) == 0) {
      id->uid = (uid_t)strtoul(f[2], NULL, 10);
      id->gid = (gid_t)strtoul(f[3], NULL, 10);
      snprintf(id->home, sizeof id->home, "%s", f[5]);
      snprintf(name, sizeof name, "%s", f[0]);
      found = 1;
      break;
    }
  }
  if (pw) fclose(pw);
  if (!found) {
    if (!is_number(user)) {
      failf("boxplay-init: unable to find user %s: no matching entries in the image's /etc/passwd", user);
      return -1;
    }
    id->uid = (uid_t)strtoul(user, NULL, 10);
    id->gid = 0;
  }
  if (id->uid == 0 && !found) snprintf(id->home, sizeof id->home, "%s", "/root");

  int group_found = !*group;
  if (*group && is_number(group)) {
    id->gid = (gid_t)strtoul(group, NULL, 10);
    group_found = 1;
  }
  id->groups[id->ngroups++] = id->gid;
  FILE *gr = fopen("/etc/group", "r");
  while (gr && fgets(line, sizeof line, gr)) {
    if (split_colons(line, f, 8) < 4) continue;
    gid_t gid = (gid_t)strtoul(f[2], NULL, 10);
    if (*group && !group_found && strcmp(f[0], group) == 0) {
      id->gid = id->groups[0] = gid;
      group_found = 1;
    }
    if (!*name || id->ngroups >= 64) continue;
    for (char *m = strtok(f[3], ","); m; m = strtok(NULL, ","))
      if (strcmp(m, name) == 0 && gid != id->groups[0]) id->groups[id->ngroups++] = gid;
  }
  if (gr) fclose(gr);
  if (!group_found) {
    failf("boxplay-init: unable to find group %s: no matching entries in the image's /etc/group", group);
    return -1;
  }
  return 0;
}

/* The host resolved the user from the image's files already: "uid gid g1,g2,…". */
static int parse_identity(const char *text, const char *home, struct identity *id) {
  memset(id, 0, sizeof *id);
  unsigned long uid, gid;
  int used = 0;
  if (sscanf(text, "%lu %lu %n", &uid, &gid, &used) < 2) return -1;
  id->uid = (uid_t)uid;
  id->gid = (gid_t)gid;
  for (const char *p = text + used; *p && id->ngroups < 64;) {
    char *end;
    unsigned long g = strtoul(p, &end, 10);
    if (end == p) break;
    id->groups[id->ngroups++] = (gid_t)g;
    p = *end == ',' ? end + 1 : end;
  }
  if (id->ngroups == 0) id->groups[id->ngroups++] = id->gid;
  snprintf(id->home, sizeof id->home, "%s", home ? home : "/");
  return 0;
}

/* ---------- the command ---------- */

static long long boot_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* When the spec arrived, so 'C' can say how long init itself took to get the command going. */
static long long spec_at_ms;

static void set_winsize(int fd, int cols, int rows) {
  struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
  ioctl(fd, TIOCSWINSZ, &ws);
}

/* In the child, between fork and exec. Errors go to the command's stderr, like a shell's. */
static void exec_command(struct spec *s, struct identity *id, int tty_fd, int in_fd, int out_fd, int err_fd) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* exec resets caught signals; SIGPIPE is the only one init ignores, and ignoring survives exec. */
  signal(SIGPIPE, SIG_DFL);
  setsid();
  if (tty_fd >= 0) {
    ioctl(tty_fd, TIOCSCTTY, 1);
    in_fd = out_fd = err_fd = tty_fd;
  }
  dup2(in_fd, 0);
  dup2(out_fd, 1);
  dup2(err_fd, 2);
  /* One syscall, not a thousand: each costs tens of microseconds in a cold emulator. */
  if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
    for (int fd = 3; fd < 1024; fd++) close(fd);
  if (tty_fd >= 0) tcsetpgrp(0, getpid());

  /* Like Docker, a working directory the image lacks is created (as root, before the switch). */
  if (chdir(s->cwd) != 0 && !(errno == ENOENT && s->cwd[0] == '/' && mkdir_p(s->cwd, 0755) == 0 && chdir(s->cwd) == 0)) {
    dprintf(2, "boxplay-init: cannot change to working directory %s: %s\n", s->cwd, strerror(errno));
    _exit(EXIT_INIT_FAILED);
  }
  if (setgroups((size_t)id->ngroups, id->groups) != 0 || setgid(id->gid) != 0 || setuid(id->uid) != 0) {
    dprintf(2, "boxplay-init: cannot switch to user %s: %s\n", s->user, strerror(errno));
    _exit(EXIT_INIT_FAILED);
  }
  s->argv[s->argc] = NULL;
  s->env[s->envc] = NULL;
  environ = s->env; /* execvp searches the command's own PATH */
  /* The host found the command in the image (spec field 'p'): every execve that execvp tries
     and fails builds a new mm and copies argv and env, ~10 ms each in the emulator. If the
     path does not work after all (permissions, a script without #!), search as usual. */
  if (s->path) execve(s->path, s->argv, s->env);
  execvp(s->argv[0], s->argv);
  int err = errno;
  dprintf(2, "boxplay-init: cannot run %s: %s\n", s->argv[0], strerror(err));
  _exit(err == ENOENT ? 127 : 126);
}

struct outbuf {
  char *data;
  size_t len, cap;
};

static void outbuf_push(struct outbuf *b, const void *p, size_t n) {
  if (b->len + n > b->cap) {
    b->cap = (b->len + n) * 2;
    b->data = realloc(b->data, b->cap);
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

/* Tells the host that `n` stdin bytes left our hands, so it may send more: the serial line
   has no flow control, and the guest tty drops what it cannot buffer (~64 KiB). */
static void ack_stdin(size_t n) {
  if (!n) return;
  char text[24];
  snprintf(text, sizeof text, "%zu", n);
  send_fields('A', text, NULL);
}

/* Copies a pipe's available bytes to the host as frames; returns 0 at EOF. */
static int relay_pipe(int fd, char type) {
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
  if (n <= 0) return 0;
  send_frame(type, buf, (size_t)n);
  return 1;
}

static int run(struct spec *s, struct identity *id, struct reader *r) {
  int tty_fd = -1, in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  if (s->tty) {
    tty_fd = open("/dev/ttyS0", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (tty_fd < 0) {
      failf("boxplay-init: cannot open the terminal /dev/ttyS0: %s", strerror(errno));
      return -1;
    }
    struct termios t;
    tcgetattr(tty_fd, &t);
    t.c_iflag = ICRNL | IXON | IUTF8;
    t.c_oflag = OPOST | ONLCR;
    t.c_cflag = (t.c_cflag & ~(CSIZE | PARENB | CRTSCTS)) | CS8 | CREAD | CLOCAL | HUPCL;
    t.c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
    tcsetattr(tty_fd, TCSANOW, &t);
    set_winsize(tty_fd, s->cols, s->rows);
  } else {
    if (s->stdin_open) {
      if (pipe2(in_pipe, O_CLOEXEC) != 0) return -1;
    } else {
      in_pipe[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) return -1;
  }
  /* vfork: the child only makes syscalls and then execs or _exits, and copying init's page
     tables (then faulting on copy-on-write) is slow in the emulator. 'C' goes out after the
     exec, so the host never hears of a start that did not happen. */
  pid_t child = vfork();
  if (child < 0) {
    failf("boxplay-init: fork failed: %s", strerror(errno));
    return -1;
  }
  if (child == 0) exec_command(s, id, tty_fd, in_pipe[0], out_pipe[1], err_pipe[1]);

  char pidtext[16], spent[32];
  snprintf(pidtext, sizeof pidtext, "%d", (int)child);
  snprintf(spent, sizeof spent, "%lld", boot_ms() - spec_at_ms);
  send_fields('C', pidtext, spent);

  if (!s->tty) {
    close(in_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[1]);
    if (in_pipe[1] >= 0) fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
  }
  int in_fd = in_pipe[1], out_fd = out_pipe[0], err_fd = err_pipe[0];
  int in_eof = 0, exited = 0, status = 0;
  struct outbuf pending = {0};

  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  fcntl(ctl, F_SETFL, O_NONBLOCK);

  /* Until the command is gone and every byte it wrote has been passed on. */
  while (!exited || out_fd >= 0 || err_fd >= 0) {
    /* Frames first: some may have arrived together with the spec, before this loop. */
    char type;
    unsigned char *payload;
    size_t len;
    while (reader_next(r, &type, &payload, &len)) {
      if (type == 'W' && tty_fd >= 0) {
        int cols, rows;
        if (sscanf((char *)payload, "%d %d", &cols, &rows) == 2) set_winsize(tty_fd, cols, rows);
      } else if (type == 'K') {
        int sig = atoi((char *)payload);
        if (!exited && sig > 0 && kill(-child, sig) != 0) kill(child, sig);
      } else if (type == 'D') {
        if (in_fd >= 0 && !in_eof) outbuf_push(&pending, payload, len);
        else ack_stdin(len); /* nobody reads stdin any more: dropped, but the host may go on */
      } else if (type == 'Z') {
        in_eof = 1;
      } else if (type == 'N') {
        write_hosts((const char *)payload, len);
      } else if (type == 'L') {
        report_listening();
      }
      free(payload);
    }
    if (in_eof && !pending.len && in_fd >= 0) {
      close(in_fd);
      in_fd = -1;
    }

    struct pollfd p[5] = {
        {.fd = ctl, .events = POLLIN},
        {.fd = sfd, .events = POLLIN},
        {.fd = out_fd, .events = POLLIN},
        {.fd = err_fd, .events = POLLIN},
        {.fd = pending.len ? in_fd : -1, .events = POLLOUT},
    };
    if (poll(p, 5, -1) < 0) continue;

    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {
      }
      int st;
      pid_t pid;
      while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        if (pid != child) continue; /* an orphan we inherited as PID 1: reaped, forgotten */
        exited = 1;
        status = st;
        /* Like a container: when the command exits, everything it left behind goes too,
           so the pipes reach EOF and the loop ends. */
        kill(-1, SIGKILL);
      }
    }
    if (p[2].revents & (POLLIN | POLLHUP) && !relay_pipe(out_fd, 'O')) {
      close(out_fd);
      out_fd = -1;
    }
    if (p[3].revents & (POLLIN | POLLHUP) && !relay_pipe(err_fd, 'E')) {
      close(err_fd);
      err_fd = -1;
    }
    if (p[4].revents & (POLLOUT | POLLERR | POLLHUP)) {
      ssize_t n = write(in_fd, pending.data, pending.len);
      if (n > 0) {
        memmove(pending.data, pending.data + n, pending.len - (size_t)n);
        pending.len -= (size_t)n;
        ack_stdin((size_t)n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        ack_stdin(pending.len);
        pending.len = 0; /* the command closed its stdin: drop the rest */
        in_eof = 1;
      }
    }
    if (p[0].revents & POLLIN) reader_fill(r, 0);
  }

  if (tty_fd >= 0) tcdrain(tty_fd); /* the last output reaches the host before 'X' */
  sync();                           /* dirty 9p pages reach the host, so it sees the files */
  char st[16];
  snprintf(st, sizeof st, "%d", status);
  send_fields('X', st, NULL);
  return 0;
}


static void seed_random(const char *hex) {
  unsigned char bytes[256];
  size_t n = 0;
  for (; hex[0] && hex[1] && n < sizeof bytes; hex += 2) {
    unsigned int v;
    if (sscanf(hex, "%2x", &v) != 1) break;
    bytes[n++] = (unsigned char)v;
  }
  int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  /* Credited, not just mixed in: the seed comes from the host's CSPRNG (as virtio-rng would
   * give it), and an uncredited pool leaves the kernel's CRNG uninitialised, so the first
   * getrandom() (python's hash seed, for one) blocks while the kernel gathers timer jitter:
   * 2.6 s of emulated busy-looping, measured. A plain write still mixes the bytes in when
   * the ioctl is refused. Restored VMs must not share "random" numbers either way. */
  struct {
    int entropy_count;
    int buf_size;
    unsigned char buf[sizeof bytes];
  } add = {(int)n * 8, (int)n, {0}};
  memcpy(add.buf, bytes, n);
  if (ioctl(fd, RNDADDENTROPY, &add) != 0) write_all(fd, bytes, n);
  close(fd);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);

  mkdir("/dev", 0755);
  mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  ctl = open("/dev/ttyS1", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (ctl < 0) {
    /* No control channel: nothing can reach the host, so say it on the console and stop. */
    dprintf(2, "boxplay-init: cannot open /dev/ttyS1 (the control channel): %s\n", strerror(errno));
    for (;;) pause();
  }
  make_raw(ctl);
  if (premount() != 0 || attach_image() != 0) give_up();

  struct utsname u;
  uname(&u);
  char ms[32];
  snprintf(ms, sizeof ms, "%lld", boot_ms());
  send_fields('R', u.release, ms);

  /* A saved state resumes from here: blocked on the control UART. The 9p mount is attached but
     the host has not put the image into it yet (it does after restoring, before 'S'). */
  struct reader r = {0};
  struct spec s;
  for (;;) {
    char type;
    unsigned char *payload;
    size_t len;
    if (reader_next(&r, &type, &payload, &len)) {
      if (type == 'S') {
        parse_spec(&s, payload, len); /* payload is kept: the spec points into it */
        break;
      }
      free(payload);
      continue;
    }
    if (!reader_fill(&r, 1)) for (;;) pause();
  }

  spec_at_ms = boot_ms();
  if (s.clock_ms > 0) {
    struct timeval tv = {.tv_sec = (time_t)(s.clock_ms / 1000), .tv_usec = (suseconds_t)(s.clock_ms % 1000) * 1000};
    settimeofday(&tv, NULL);
  }
  if (s.seed) seed_random(s.seed);
  if (s.argc == 0) {
    failf("boxplay-init: the spec has no command to run");
    give_up();
  }
  if (configure_network(s.network) != 0) give_up();
  if (s.hosts && install_hosts(s.hosts) != 0) give_up();
  if (enter_image() != 0) give_up();
  sethostname(s.hostname, strlen(s.hostname));
  struct identity id;
  if (s.identity ? parse_identity(s.identity, s.home, &id) != 0 : resolve_user(s.user, &id) != 0) {
    if (s.identity) failf("boxplay-init: bad identity in the spec: %s", s.identity);
    give_up();
  }
  if (!env_get(&s, "HOME") && s.envc < MAX_LIST) {
    static char home[1100];
    snprintf(home, sizeof home, "HOME=%s", id.home);
    s.env[s.envc++] = home;
  }
  if (!env_get(&s, "HOSTNAME") && s.envc < MAX_LIST) {
    static char hn[300];
    snprintf(hn, sizeof hn, "HOSTNAME=%s", s.hostname);
    s.env[s.envc++] = hn;
  }
  if (run(&s, &id, &r) != 0) give_up();
  for (;;) pause();
}
