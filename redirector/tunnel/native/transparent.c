/* The socket options Node cannot set, for the node tunnel:
 *   listenTransparent  a TCP listener with IP_TRANSPARENT (IPV6_TRANSPARENT), so connections the
 *                      datapath assigns to it (bpf_sk_assign, or TPROXY) for addresses that are not
 *                      the node's are accepted, with the original destination as the local address.
 *                      Returns the listening fd; Node wraps it with net.Server.listen({ fd }).
 *   connectTransparent a TCP connection from an address that is not the node's (the remote client
 *                      pod's): IP_TRANSPARENT, SO_MARK, bound to that address (the port is chosen at
 *                      connect time, IP_BIND_ADDRESS_NO_PORT), connected without blocking. The
 *                      event loop watches the socket (uv_poll) with a timer for the timeout, so no
 *                      thread waits on a pod that does not answer; the callback gets (0, fd) once
 *                      connected (Node wraps it with new net.Socket({ fd })) or (errno, -1). */
#include <node_api.h>
#include <uv.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IP_TRANSPARENT
#define IP_TRANSPARENT 19
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT 75
#endif
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

static napi_value fail(napi_env env, const char *what, int fd)
{
	char message[160];
	int err = errno;

	if (fd >= 0)
		close(fd);
	snprintf(message, sizeof(message), "transparent socket: %s: %s", what, strerror(err));
	napi_throw_error(env, NULL, message);
	return NULL;
}

/* host:port into addr; 0 when host is not an IP address. */
static int parse_addr(const char *host, uint32_t port, struct sockaddr_storage *addr, socklen_t *len)
{
	memset(addr, 0, sizeof(*addr));
	if (strchr(host, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)addr;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		*len = sizeof(*a);
		return inet_pton(AF_INET6, host, &a->sin6_addr) == 1;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)addr;

	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	*len = sizeof(*a);
	return inet_pton(AF_INET, host, &a->sin_addr) == 1;
}

/* A non-blocking TCP socket of family with IP_TRANSPARENT, bound to addr; -1 (exception thrown). */
static int transparent_socket(napi_env env, const struct sockaddr_storage *addr, socklen_t len, int no_port)
{
	int fd, one = 1, v6 = addr->ss_family == AF_INET6;

	fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(env, "socket", -1), -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return fail(env, "SO_REUSEADDR", fd), -1;
	if (v6 ? setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof(one))
	       : setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one)))
		return fail(env, "IP_TRANSPARENT (needs CAP_NET_ADMIN)", fd), -1;
	if (no_port && setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) < 0)
		return fail(env, "IP_BIND_ADDRESS_NO_PORT", fd), -1;
	if (bind(fd, (const struct sockaddr *)addr, len) < 0)
		return fail(env, "bind", fd), -1;
	return fd;
}

/* listenTransparent(host: string, port: number, backlog: number): number (fd) */
static napi_value listen_transparent(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3], result;
	char host[INET6_ADDRSTRLEN + 1];
	size_t len;
	uint32_t port, backlog;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int fd;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 ||
	    napi_get_value_string_utf8(env, argv[0], host, sizeof(host), &len) != napi_ok ||
	    napi_get_value_uint32(env, argv[1], &port) != napi_ok ||
	    napi_get_value_uint32(env, argv[2], &backlog) != napi_ok || port > 65535) {
		napi_throw_type_error(env, NULL, "listenTransparent(host, port, backlog)");
		return NULL;
	}
	if (!parse_addr(host, port, &addr, &addrlen)) {
		napi_throw_type_error(env, NULL, "listenTransparent: host is not an IP address");
		return NULL;
	}
	fd = transparent_socket(env, &addr, addrlen, 0);
	if (fd < 0)
		return NULL;
	if (listen(fd, (int)backlog) < 0)
		return fail(env, "listen", fd);
	napi_create_int32(env, fd, &result);
	return result;
}

/* One connect in progress: the poll and timer handles are closed (and this freed) once it settled. */
struct pending_connect {
	uv_poll_t poll;
	uv_timer_t timer;
	int fd;
	int open_handles;
	int settled;
	napi_env env;
	napi_ref callback;
	napi_async_context context;
};

static void on_closed(uv_handle_t *handle)
{
	struct pending_connect *p = handle->data;

	if (--p->open_handles == 0)
		free(p);
}

/* Stops watching, then calls back (err, fd) inside a callback scope (so promise jobs run); the
 * receiver is the global object (napi_make_callback needs an object). */
static void settle(struct pending_connect *p, int err)
{
	napi_env env = p->env;
	napi_handle_scope scope;
	napi_value callback, recv, argv[2], exception;
	bool thrown = false;

	if (p->settled)
		return;
	p->settled = 1;
	uv_poll_stop(&p->poll);
	uv_timer_stop(&p->timer);
	uv_close((uv_handle_t *)&p->poll, on_closed);
	uv_close((uv_handle_t *)&p->timer, on_closed);
	if (err) {
		close(p->fd);
		p->fd = -1;
	}
	napi_open_handle_scope(env, &scope);
	napi_get_reference_value(env, p->callback, &callback);
	napi_get_global(env, &recv);
	napi_create_int32(env, err, &argv[0]);
	napi_create_int32(env, p->fd, &argv[1]);
	if (napi_make_callback(env, p->context, recv, callback, 2, argv, NULL) != napi_ok &&
	    napi_is_exception_pending(env, &thrown) == napi_ok && thrown &&
	    napi_get_and_clear_last_exception(env, &exception) == napi_ok)
		napi_fatal_exception(env, exception);
	napi_close_handle_scope(env, scope);
	napi_delete_reference(env, p->callback);
	napi_async_destroy(env, p->context);
}

static void on_writable(uv_poll_t *handle, int status, int events)
{
	struct pending_connect *p = handle->data;
	int err = 0;
	socklen_t len = sizeof(err);

	(void)events;
	/* a refused connect shows as POLLERR, which libuv reports as a status; SO_ERROR says why */
	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (!err && status < 0)
		err = -status;
	settle(p, err);
}

static void on_timeout(uv_timer_t *handle)
{
	settle(handle->data, ETIMEDOUT);
}

/* connectTransparent(local: string, host: string, port: number, mark: number, timeoutMs: number,
 *                    done: (errno: number, fd: number) => void): void */
static napi_value connect_transparent(napi_env env, napi_callback_info info)
{
	size_t argc = 6, len;
	napi_value argv[6], name;
	napi_valuetype type;
	char local[INET6_ADDRSTRLEN + 1], host[INET6_ADDRSTRLEN + 1];
	uint32_t port, mark, timeout_ms;
	struct sockaddr_storage local_addr, remote_addr;
	socklen_t local_len, remote_len;
	struct pending_connect *p;
	uv_loop_t *loop;
	int fd;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 6 ||
	    napi_get_value_string_utf8(env, argv[0], local, sizeof(local), &len) != napi_ok ||
	    napi_get_value_string_utf8(env, argv[1], host, sizeof(host), &len) != napi_ok ||
	    napi_get_value_uint32(env, argv[2], &port) != napi_ok ||
	    napi_get_value_uint32(env, argv[3], &mark) != napi_ok ||
	    napi_get_value_uint32(env, argv[4], &timeout_ms) != napi_ok ||
	    napi_typeof(env, argv[5], &type) != napi_ok || type != napi_function ||
	    port == 0 || port > 65535 || timeout_ms == 0) {
		napi_throw_type_error(env, NULL, "connectTransparent(local, host, port, mark, timeoutMs, done)");
		return NULL;
	}
	if (!parse_addr(local, 0, &local_addr, &local_len) || !parse_addr(host, port, &remote_addr, &remote_len) ||
	    local_addr.ss_family != remote_addr.ss_family) {
		napi_throw_type_error(env, NULL, "connectTransparent: local and host must be IP addresses of one family");
		return NULL;
	}
	if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
		napi_throw_error(env, NULL, "connectTransparent: no event loop");
		return NULL;
	}
	fd = transparent_socket(env, &local_addr, local_len, 1);
	if (fd < 0)
		return NULL;
	if (mark && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		return fail(env, "SO_MARK", fd);
	if (connect(fd, (struct sockaddr *)&remote_addr, remote_len) < 0 && errno != EINPROGRESS)
		return fail(env, "connect", fd);

	p = calloc(1, sizeof(*p));
	if (!p) {
		errno = ENOMEM;
		return fail(env, "connectTransparent", fd);
	}
	p->fd = fd;
	p->env = env;
	napi_create_reference(env, argv[5], 1, &p->callback);
	napi_create_string_utf8(env, "skiff:connectTransparent", NAPI_AUTO_LENGTH, &name);
	napi_async_init(env, NULL, name, &p->context);
	uv_poll_init_socket(loop, &p->poll, fd);
	uv_timer_init(loop, &p->timer);
	p->poll.data = p;
	p->timer.data = p;
	p->open_handles = 2;
	uv_poll_start(&p->poll, UV_WRITABLE, on_writable);
	uv_timer_start(&p->timer, on_timeout, timeout_ms, 0);
	return NULL;
}

NAPI_MODULE_INIT()
{
	napi_value fn;

	napi_create_function(env, "listenTransparent", NAPI_AUTO_LENGTH, listen_transparent, NULL, &fn);
	napi_set_named_property(env, exports, "listenTransparent", fn);
	napi_create_function(env, "connectTransparent", NAPI_AUTO_LENGTH, connect_transparent, NULL, &fn);
	napi_set_named_property(env, exports, "connectTransparent", fn);
	return exports;
}
