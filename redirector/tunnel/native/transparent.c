/* The one socket option Node cannot set: a TCP listener with IP_TRANSPARENT (IPV6_TRANSPARENT),
 * so connections the datapath assigns to it (bpf_sk_assign, or TPROXY) for addresses that are not
 * the node's are accepted, with the original destination as the local address. Returns the
 * listening file descriptor; Node wraps it with net.Server.listen({ fd }). */
#include <node_api.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IP_TRANSPARENT
#define IP_TRANSPARENT 19
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT 75
#endif

static napi_value fail(napi_env env, const char *what, int fd)
{
	char message[160];
	int err = errno;

	if (fd >= 0)
		close(fd);
	snprintf(message, sizeof(message), "transparent listener: %s: %s", what, strerror(err));
	napi_throw_error(env, NULL, message);
	return NULL;
}

/* listenTransparent(host: string, port: number, backlog: number): number (fd) */
static napi_value listen_transparent(napi_env env, napi_callback_info info)
{
	size_t argc = 3;
	napi_value argv[3], result;
	char host[INET6_ADDRSTRLEN + 1];
	size_t len;
	uint32_t port, backlog;
	struct sockaddr_storage addr = {0};
	socklen_t addrlen;
	int fd, one = 1, v6;

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 ||
	    napi_get_value_string_utf8(env, argv[0], host, sizeof(host), &len) != napi_ok ||
	    napi_get_value_uint32(env, argv[1], &port) != napi_ok ||
	    napi_get_value_uint32(env, argv[2], &backlog) != napi_ok || port > 65535) {
		napi_throw_type_error(env, NULL, "listenTransparent(host, port, backlog)");
		return NULL;
	}
	v6 = strchr(host, ':') != NULL;
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&addr;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			goto bad_host;
		addrlen = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&addr;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			goto bad_host;
		addrlen = sizeof(*a);
	}
	fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(env, "socket", -1);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return fail(env, "SO_REUSEADDR", fd);
	if (v6 ? setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof(one))
	       : setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one)))
		return fail(env, "IP_TRANSPARENT (needs CAP_NET_ADMIN)", fd);
	if (bind(fd, (struct sockaddr *)&addr, addrlen) < 0)
		return fail(env, "bind", fd);
	if (listen(fd, (int)backlog) < 0)
		return fail(env, "listen", fd);
	napi_create_int32(env, fd, &result);
	return result;

bad_host:
	napi_throw_type_error(env, NULL, "listenTransparent: host is not an IP address");
	return NULL;
}

NAPI_MODULE_INIT()
{
	napi_value fn;

	napi_create_function(env, "listenTransparent", NAPI_AUTO_LENGTH, listen_transparent, NULL, &fn);
	napi_set_named_property(env, exports, "listenTransparent", fn);
	return exports;
}
