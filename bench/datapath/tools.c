// Small native helpers of the datapath benchmark (compiled at run time by tools.ts), so the
// figures measure the kernel path, not a scripting runtime:
//   relay PORT MARK      a transparent TCP relay, the stand-in for a user-space proxy: listens on
//                        0.0.0.0:PORT with IP_TRANSPARENT (from_pod sk_assigns steered flows to
//                        it), connects to each connection's original destination (getsockname)
//                        with SO_MARK=MARK, and copies bytes both ways through user space
//                        (read/write, two threads per connection, TCP_NODELAY), as a simple
//                        proxy does. Prints "listening" once bound.
//   acceptor PORT        accepts connections on [::]:PORT and closes them. Prints "listening".
//   connrate HOST PORT SECONDS
//                        opens TCP connections to HOST:PORT one after another for SECONDS
//                        (connect, then close with an RST so no TIME_WAIT piles up), prints
//                        "connections N seconds S failures F".
//   progrun PIN IFINDEX FIRST NEXT RUNS
//                        the cost of one pass of a pinned TC program over a packet, in the kernel
//                        (BPF_PROG_TEST_RUN, a fresh skb each run, as from interface IFINDEX of
//                        this netns): FIRST (hex, from the Ethernet header) once, e.g. a SYN that
//                        opens the flow, then NEXT RUNS times; prints "runs N p50 X p90 Y
//                        retval R" (nanoseconds, as the kernel timed each run).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static int listener(int family, int port, int transparent)
{
	int fd = socket(family, SOCK_STREAM, 0);
	int one = 1;
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (transparent && setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one)) < 0)
		die("IP_TRANSPARENT");
	struct sockaddr_storage ss = {0};
	socklen_t len;
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		int zero = 0;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		len = sizeof(*a);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		die("bind");
	if (listen(fd, 4096) < 0)
		die("listen");
	printf("listening\n");
	fflush(stdout);
	return fd;
}

struct pipe_args {
	int from, to;
};

static void *copy(void *arg)
{
	struct pipe_args *p = arg;
	char buf[65536];
	for (;;) {
		ssize_t n = read(p->from, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(p->to, buf + off, n - off);
			if (w <= 0)
				goto out;
			off += w;
		}
	}
out:
	shutdown(p->to, SHUT_WR);
	return NULL;
}

struct conn_args {
	int client;
	unsigned mark;
};

static void *relay_conn(void *arg)
{
	struct conn_args *c = arg;
	struct sockaddr_in dst;
	socklen_t len = sizeof(dst);
	int one = 1;
	int up = -1;
	if (getsockname(c->client, (struct sockaddr *)&dst, &len) < 0)
		goto done;
	up = socket(AF_INET, SOCK_STREAM, 0);
	if (up < 0)
		goto done;
	setsockopt(up, SOL_SOCKET, SO_MARK, &c->mark, sizeof(c->mark));
	setsockopt(up, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(up, (struct sockaddr *)&dst, len) < 0)
		goto done;
	struct pipe_args back = {up, c->client};
	pthread_t t;
	pthread_create(&t, NULL, copy, &back);
	struct pipe_args forth = {c->client, up};
	copy(&forth);
	pthread_join(t, NULL);
done:
	if (up >= 0)
		close(up);
	close(c->client);
	free(c);
	return NULL;
}

static void relay(int port, unsigned mark)
{
	int fd = listener(AF_INET, port, 1);
	for (;;) {
		int client = accept(fd, NULL, NULL);
		if (client < 0)
			continue;
		struct conn_args *c = malloc(sizeof(*c));
		c->client = client;
		c->mark = mark;
		pthread_t t;
		pthread_create(&t, NULL, relay_conn, c);
		pthread_detach(t);
	}
}

static void acceptor(int port)
{
	int fd = listener(AF_INET6, port, 0);
	for (;;) {
		int c = accept(fd, NULL, NULL);
		if (c >= 0)
			close(c);
	}
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void connrate(const char *host, int port, double seconds)
{
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct linger rst = {.l_onoff = 1, .l_linger = 0};
	struct timeval timeout = {.tv_sec = 1};
	long count = 0, failures = 0;
	if (inet_pton(AF_INET, host, &dst.sin_addr) != 1)
		die("inet_pton");
	double start = now(), elapsed = 0;
	while (elapsed < seconds) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			die("socket");
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
		if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) == 0)
			count++;
		else
			failures++;
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
		close(fd);
		elapsed = now() - start;
	}
	printf("connections %ld seconds %.6f failures %ld\n", count, elapsed, failures);
}

static size_t unhex(const char *hex, unsigned char *out, size_t max)
{
	size_t n = strlen(hex) / 2;
	if (n > max)
		die("packet too long");
	for (size_t i = 0; i < n; i++)
		sscanf(hex + 2 * i, "%2hhx", &out[i]);
	return n;
}

/* One BPF_PROG_TEST_RUN of fd over the packet, from ifindex: the kernel's duration (ns). */
static unsigned test_run(int fd, int ifindex, unsigned char *data, size_t len, unsigned *retval)
{
	struct __sk_buff ctx = {.ifindex = ifindex};
	union bpf_attr attr = {0};
	attr.test.prog_fd = fd;
	attr.test.data_in = (unsigned long)data;
	attr.test.data_size_in = len;
	attr.test.ctx_in = (unsigned long)&ctx;
	attr.test.ctx_size_in = sizeof(ctx);
	attr.test.repeat = 1;
	if (syscall(SYS_bpf, BPF_PROG_TEST_RUN, &attr, sizeof(attr)) != 0)
		die("BPF_PROG_TEST_RUN");
	*retval = attr.test.retval;
	return attr.test.duration;
}

static int by_value(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}

static void progrun(const char *pin, int ifindex, const char *first, const char *next, int runs)
{
	union bpf_attr get = {0};
	unsigned char a[256], b[256];
	size_t alen = unhex(first, a, sizeof(a)), blen = unhex(next, b, sizeof(b));
	unsigned retval, *ns = calloc(runs, sizeof(unsigned));
	if (!ns || runs < 1)
		die("runs");
	get.pathname = (unsigned long)pin;
	int fd = syscall(SYS_bpf, BPF_OBJ_GET, &get, sizeof(get));
	if (fd < 0)
		die(pin);
	test_run(fd, ifindex, a, alen, &retval);
	for (int i = 0; i < runs; i++) {
		unsigned char packet[256];
		memcpy(packet, b, blen); /* the program may rewrite it (NAT) */
		ns[i] = test_run(fd, ifindex, packet, blen, &retval);
	}
	qsort(ns, runs, sizeof(unsigned), by_value);
	printf("runs %d p50 %u p90 %u retval %u\n", runs, ns[runs / 2], ns[runs * 9 / 10], retval);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 4 && strcmp(argv[1], "relay") == 0)
		relay(atoi(argv[2]), (unsigned)strtoul(argv[3], NULL, 0));
	else if (argc == 3 && strcmp(argv[1], "acceptor") == 0)
		acceptor(atoi(argv[2]));
	else if (argc == 5 && strcmp(argv[1], "connrate") == 0)
		connrate(argv[2], atoi(argv[3]), atof(argv[4]));
	else if (argc == 7 && strcmp(argv[1], "progrun") == 0)
		progrun(argv[2], atoi(argv[3]), argv[4], argv[5], atoi(argv[6]));
	else {
		fprintf(stderr, "usage: tools relay PORT MARK | acceptor PORT | connrate HOST PORT SECONDS | progrun PIN IFINDEX FIRST NEXT RUNS\n");
		return 2;
	}
	return 0;
}
