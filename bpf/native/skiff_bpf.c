// The native half of skiff's libbpf binding: a thin N-API (plain C) layer over Debian's libbpf.
// Everything here works on file descriptors and raw Buffers; sizes, names and types are the
// TypeScript wrapper's business (bpf/libbpf.ts). Every failure throws the error that the wrapper's
// factory builds (setErrorFactory), carrying errno, the libbpf messages and the verifier log.
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

// Kernel 6.6+ attach types, missing from Debian 12's uapi header.
#define SKIFF_TCX_INGRESS 46
#define SKIFF_TCX_EGRESS 47
#define SKIFF_BPF_FS_MAGIC 0xcafe4a11

static napi_ref error_factory;

// libbpf's warnings of the current call, appended to the error message when the call fails.
static char libbpf_msgs[8192];
static size_t libbpf_msgs_len;

static int on_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap) {
  if (level == LIBBPF_DEBUG) return 0;
  size_t room = sizeof(libbpf_msgs) - libbpf_msgs_len;
  if (room > 1) {
    int n = vsnprintf(libbpf_msgs + libbpf_msgs_len, room, fmt, ap);
    if (n > 0) libbpf_msgs_len += (size_t)n < room ? (size_t)n : room - 1;
  }
  return 0;
}

static void reset_msgs(void) {
  libbpf_msgs_len = 0;
  libbpf_msgs[0] = 0;
}

// Throws factory(op, errno, strerror, libbpfMessages, verifierLog). err is a positive errno.
static napi_value throw_bpf(napi_env env, const char *op, int err, const char *log) {
  napi_value argv[5], factory, global, result;
  napi_create_string_utf8(env, op, NAPI_AUTO_LENGTH, &argv[0]);
  napi_create_int32(env, err, &argv[1]);
  napi_create_string_utf8(env, err == 524 ? "Operation not supported" : strerror(err),
                          NAPI_AUTO_LENGTH, &argv[2]);
  napi_create_string_utf8(env, libbpf_msgs, libbpf_msgs_len, &argv[3]);
  if (log && log[0]) napi_create_string_utf8(env, log, NAPI_AUTO_LENGTH, &argv[4]);
  else napi_get_undefined(env, &argv[4]);
  if (!error_factory || napi_get_reference_value(env, error_factory, &factory) != napi_ok) {
    napi_throw_error(env, NULL, op);
    return NULL;
  }
  napi_get_global(env, &global);
  if (napi_call_function(env, global, factory, 5, argv, &result) == napi_ok) napi_throw(env, result);
  return NULL;
}

// libbpf 1.x returns -errno (and sets errno too).
static int err_of(int ret) { return ret < 0 ? -ret : errno; }

#define ARGS(n)                                                    \
  size_t argc = n;                                                 \
  napi_value argv[n > 0 ? n : 1];                                  \
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);            \
  if (argc < n) {                                                  \
    napi_throw_type_error(env, NULL, "skiff_bpf: missing argument"); \
    return NULL;                                                   \
  }                                                                \
  reset_msgs();

#define INT(i) arg_int(env, argv[i])
#define BUF(i) arg_buffer(env, argv[i], NULL)

static napi_value undefined(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

static napi_value boolean(napi_env env, bool b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

static napi_value int_value(napi_env env, int64_t n) {
  napi_value v;
  napi_create_int64(env, n, &v);
  return v;
}

static napi_value str_value(napi_env env, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s ? s : "", NAPI_AUTO_LENGTH, &v);
  return v;
}

static void set_prop(napi_env env, napi_value obj, const char *key, napi_value v) {
  napi_set_named_property(env, obj, key, v);
}

static int32_t arg_int(napi_env env, napi_value v) {
  int32_t n = 0;
  napi_get_value_int32(env, v, &n);
  return n;
}

static bool arg_bool(napi_env env, napi_value v) {
  bool b = false;
  napi_get_value_bool(env, v, &b);
  return b;
}

static bool is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t == napi_undefined || t == napi_null;
}

// Returns a malloc'd copy of a JS string argument (NULL for null/undefined).
static char *arg_string(napi_env env, napi_value v) {
  if (is_nullish(env, v)) return NULL;
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "skiff_bpf: expected a string");
    return NULL;
  }
  char *s = malloc(len + 1);
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

static void *arg_buffer(napi_env env, napi_value v, size_t *len) {
  void *data = NULL;
  size_t n = 0;
  if (is_nullish(env, v)) {
    if (len) *len = 0;
    return NULL;
  }
  napi_get_buffer_info(env, v, &data, &n);
  if (len) *len = n;
  return data;
}

// Ends a call that only fails: undefined on success, the thrown error otherwise.
static napi_value done(napi_env env, const char *op, int ret) {
  return ret ? throw_bpf(env, op, err_of(ret), NULL) : undefined(env);
}

// Ends a call that reports absence with ENOENT: true when found, false when absent.
static napi_value found(napi_env env, const char *op, int ret) {
  if (ret && errno == ENOENT) return boolean(env, false);
  return ret ? throw_bpf(env, op, err_of(ret), NULL) : boolean(env, true);
}

static napi_value set_error_factory(napi_env env, napi_callback_info info) {
  ARGS(1);
  if (error_factory) napi_delete_reference(env, error_factory);
  napi_create_reference(env, argv[0], 1, &error_factory);
  return undefined(env);
}

// ---- objects -------------------------------------------------------------------------------

struct object_handle {
  struct bpf_object *obj;
  char *log;
};

static void close_object(struct object_handle *h) {
  if (h->obj) bpf_object__close(h->obj);
  h->obj = NULL;
  free(h->log);
  h->log = NULL;
}

static void finalize_object(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  close_object(data);
  free(data);
}

static struct object_handle *arg_object(napi_env env, napi_value v) {
  struct object_handle *h = NULL;
  napi_get_value_external(env, v, (void **)&h);
  if (!h || !h->obj) {
    throw_bpf(env, "bpf object", EBADF, "");
    return NULL;
  }
  return h;
}

// objectOpen(path, pinRoot | null, logSize) -> handle
static napi_value object_open(napi_env env, napi_callback_info info) {
  ARGS(3);
  char *path = arg_string(env, argv[0]);
  char *pin_root = arg_string(env, argv[1]);
  int32_t log_size = INT(2);
  struct object_handle *h = calloc(1, sizeof(*h));
  h->log = calloc(1, log_size > 0 ? (size_t)log_size : 1);
  LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_root);
  if (log_size > 0) {
    // Level 0 with a buffer: libbpf reloads a failing program at level 1 to capture the log.
    opts.kernel_log_buf = h->log;
    opts.kernel_log_size = (size_t)log_size;
    opts.kernel_log_level = 0;
  }
  h->obj = bpf_object__open_file(path, &opts);
  int err = errno;
  free(pin_root);
  napi_value result = NULL;
  if (!h->obj) {
    char op[512];
    snprintf(op, sizeof(op), "open %s", path);
    free(h->log);
    free(h);
    throw_bpf(env, op, err, NULL);
  } else {
    napi_create_external(env, h, finalize_object, NULL, &result);
  }
  free(path);
  return result;
}

static napi_value object_load(napi_env env, napi_callback_info info) {
  ARGS(1);
  struct object_handle *h = arg_object(env, argv[0]);
  if (!h) return NULL;
  h->log[0] = 0;
  int ret = bpf_object__load(h->obj);
  if (ret) return throw_bpf(env, "load", err_of(ret), h->log);
  return undefined(env);
}

static napi_value object_close(napi_env env, napi_callback_info info) {
  ARGS(1);
  struct object_handle *h = NULL;
  napi_get_value_external(env, argv[0], (void **)&h);
  if (h) close_object(h);
  return undefined(env);
}

static bool map_type_is_percpu(enum bpf_map_type t) {
  return t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_ARRAY ||
         t == BPF_MAP_TYPE_LRU_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

static napi_value map_description(napi_env env, const char *name, uint32_t type, uint32_t key_size,
                                  uint32_t value_size, uint32_t max_entries, uint32_t flags, int fd,
                                  uint32_t id) {
  napi_value o;
  napi_create_object(env, &o);
  set_prop(env, o, "name", str_value(env, name));
  set_prop(env, o, "type", int_value(env, type));
  set_prop(env, o, "typeName", str_value(env, libbpf_bpf_map_type_str(type)));
  set_prop(env, o, "perCpu", boolean(env, map_type_is_percpu(type)));
  set_prop(env, o, "keySize", int_value(env, key_size));
  set_prop(env, o, "valueSize", int_value(env, value_size));
  set_prop(env, o, "maxEntries", int_value(env, max_entries));
  set_prop(env, o, "flags", int_value(env, flags));
  set_prop(env, o, "fd", int_value(env, fd));
  set_prop(env, o, "id", int_value(env, id));
  return o;
}

static napi_value program_description(napi_env env, const char *name, const char *section,
                                      uint32_t type, int fd, uint32_t id) {
  napi_value o;
  napi_create_object(env, &o);
  set_prop(env, o, "name", str_value(env, name));
  set_prop(env, o, "section", str_value(env, section));
  set_prop(env, o, "type", int_value(env, type));
  set_prop(env, o, "typeName", str_value(env, libbpf_bpf_prog_type_str(type)));
  set_prop(env, o, "fd", int_value(env, fd));
  set_prop(env, o, "id", int_value(env, id));
  return o;
}

// objectContents(handle) -> {maps: [{name, type, ..., fd}], programs: [...]} (fds -1 before load)
static napi_value object_contents(napi_env env, napi_callback_info info) {
  ARGS(1);
  struct object_handle *h = arg_object(env, argv[0]);
  if (!h) return NULL;
  napi_value result, maps, programs;
  napi_create_object(env, &result);
  napi_create_array(env, &maps);
  napi_create_array(env, &programs);
  uint32_t i = 0;
  struct bpf_map *m;
  bpf_object__for_each_map(m, h->obj) {
    napi_value d = map_description(env, bpf_map__name(m), bpf_map__type(m), bpf_map__key_size(m),
                                   bpf_map__value_size(m), bpf_map__max_entries(m),
                                   bpf_map__map_flags(m), bpf_map__fd(m), 0);
    napi_set_element(env, maps, i++, d);
  }
  i = 0;
  struct bpf_program *p;
  bpf_object__for_each_program(p, h->obj) {
    napi_value d = program_description(env, bpf_program__name(p), bpf_program__section_name(p),
                                       bpf_program__type(p), bpf_program__fd(p), 0);
    napi_set_element(env, programs, i++, d);
  }
  set_prop(env, result, "maps", maps);
  set_prop(env, result, "programs", programs);
  return result;
}

// mapSetMaxEntries(handle, name, n): before load only.
static napi_value map_set_max_entries(napi_env env, napi_callback_info info) {
  ARGS(3);
  struct object_handle *h = arg_object(env, argv[0]);
  if (!h) return NULL;
  char *name = arg_string(env, argv[1]);
  struct bpf_map *m = bpf_object__find_map_by_name(h->obj, name);
  int ret = m ? bpf_map__set_max_entries(m, (uint32_t)INT(2)) : -ENOENT;
  free(name);
  return done(env, "set max_entries", ret);
}

// ---- maps by fd ----------------------------------------------------------------------------

// mapLookup(fd, key, valueOut) -> found
static napi_value map_lookup(napi_env env, napi_callback_info info) {
  ARGS(3);
  return found(env, "map lookup", bpf_map_lookup_elem(INT(0), BUF(1), BUF(2)));
}

static napi_value map_update(napi_env env, napi_callback_info info) {
  ARGS(4);
  return done(env, "map update", bpf_map_update_elem(INT(0), BUF(1), BUF(2), (uint64_t)INT(3)));
}

static napi_value map_delete(napi_env env, napi_callback_info info) {
  ARGS(2);
  return found(env, "map delete", bpf_map_delete_elem(INT(0), BUF(1)));
}

static napi_value map_lookup_and_delete(napi_env env, napi_callback_info info) {
  ARGS(3);
  return found(env, "map lookup-and-delete", bpf_map_lookup_and_delete_elem(INT(0), BUF(1), BUF(2)));
}

// mapNextKey(fd, key | null, nextOut) -> found (false at the end)
static napi_value map_next_key(napi_env env, napi_callback_info info) {
  ARGS(3);
  return found(env, "map next key", bpf_map_get_next_key(INT(0), BUF(1), BUF(2)));
}

// mapUpdateBatch(fd, keys, values, count, flags): keys and values packed back to back.
static napi_value map_update_batch(napi_env env, napi_callback_info info) {
  ARGS(5);
  uint32_t count = (uint32_t)INT(3);
  LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = (uint64_t)INT(4));
  int ret = bpf_map_update_batch(INT(0), BUF(1),
                                 BUF(2), &count, &opts);
  if (ret) return throw_bpf(env, "map update batch", err_of(ret), NULL);
  return int_value(env, count);
}

static napi_value map_delete_batch(napi_env env, napi_callback_info info) {
  ARGS(3);
  uint32_t count = (uint32_t)INT(2);
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  int ret = bpf_map_delete_batch(INT(0), BUF(1), &count,
                                 &opts);
  if (ret) return throw_bpf(env, "map delete batch", err_of(ret), NULL);
  return int_value(env, count);
}

// ---- pins, fds, info -----------------------------------------------------------------------

static napi_value obj_pin(napi_env env, napi_callback_info info) {
  ARGS(2);
  char *path = arg_string(env, argv[1]);
  int ret = bpf_obj_pin(INT(0), path);
  int err = err_of(ret);
  napi_value result = undefined(env);
  if (ret) {
    char op[512];
    snprintf(op, sizeof(op), "pin %s", path);
    result = throw_bpf(env, op, err, NULL);
  }
  free(path);
  return result;
}

static napi_value obj_get(napi_env env, napi_callback_info info) {
  ARGS(1);
  char *path = arg_string(env, argv[0]);
  int fd = bpf_obj_get(path);
  int err = err_of(fd);
  napi_value result;
  if (fd < 0) {
    char op[512];
    snprintf(op, sizeof(op), "open pin %s", path);
    result = throw_bpf(env, op, err, NULL);
  } else {
    result = int_value(env, fd);
  }
  free(path);
  return result;
}

static napi_value close_fd(napi_env env, napi_callback_info info) {
  ARGS(1);
  int fd = INT(0);
  if (fd >= 0) close(fd);
  return undefined(env);
}

static napi_value map_info(napi_env env, napi_callback_info info) {
  ARGS(1);
  int fd = INT(0);
  struct bpf_map_info mi;
  uint32_t len = sizeof(mi);
  memset(&mi, 0, sizeof(mi));
  int ret = bpf_obj_get_info_by_fd(fd, &mi, &len);
  if (ret) return throw_bpf(env, "map info", err_of(ret), NULL);
  return map_description(env, mi.name, mi.type, mi.key_size, mi.value_size, mi.max_entries,
                         mi.map_flags, fd, mi.id);
}

static napi_value prog_info(napi_env env, napi_callback_info info) {
  ARGS(1);
  int fd = INT(0);
  struct bpf_prog_info pi;
  uint32_t len = sizeof(pi);
  memset(&pi, 0, sizeof(pi));
  int ret = bpf_obj_get_info_by_fd(fd, &pi, &len);
  if (ret) return throw_bpf(env, "program info", err_of(ret), NULL);
  return program_description(env, pi.name, "", pi.type, fd, pi.id);
}

// linkInfo(fd) -> {id, type, progId, attachType, ifindex?, cgroupId?}
static napi_value link_info(napi_env env, napi_callback_info info) {
  ARGS(1);
  struct bpf_link_info li;
  uint32_t len = sizeof(li);
  memset(&li, 0, sizeof(li));
  int ret = bpf_obj_get_info_by_fd(INT(0), &li, &len);
  if (ret) return throw_bpf(env, "link info", err_of(ret), NULL);
  napi_value o;
  napi_create_object(env, &o);
  set_prop(env, o, "id", int_value(env, li.id));
  set_prop(env, o, "type", int_value(env, li.type));
  set_prop(env, o, "progId", int_value(env, li.prog_id));
  if (li.type == BPF_LINK_TYPE_CGROUP) {
    set_prop(env, o, "attachType", int_value(env, li.cgroup.attach_type));
    set_prop(env, o, "cgroupId", int_value(env, (int64_t)li.cgroup.cgroup_id));
  } else if (li.type == 11 /* BPF_LINK_TYPE_TCX: { __u32 ifindex; __u32 attach_type; } */) {
    set_prop(env, o, "ifindex", int_value(env, li.netns.netns_ino));
    set_prop(env, o, "attachType", int_value(env, li.netns.attach_type));
  }
  return o;
}

// ---- links ---------------------------------------------------------------------------------

// linkCreate(progFd, targetFd | ifindex, attachType) -> link fd
static napi_value link_create(napi_env env, napi_callback_info info) {
  ARGS(3);
  int fd = bpf_link_create(INT(0), INT(1),
                           (enum bpf_attach_type)INT(2), NULL);
  if (fd < 0) return throw_bpf(env, "link create", err_of(fd), NULL);
  return int_value(env, fd);
}

static napi_value link_detach(napi_env env, napi_callback_info info) {
  ARGS(1);
  return done(env, "link detach", bpf_link_detach(INT(0)));
}

static napi_value link_update(napi_env env, napi_callback_info info) {
  ARGS(2);
  return done(env, "link update", bpf_link_update(INT(0), INT(1), NULL));
}

// progQuery(targetFd | ifindex, attachType) -> [program ids]
static napi_value prog_query(napi_env env, napi_callback_info info) {
  ARGS(2);
  uint32_t ids[64], count = 64, attach_flags = 0;
  int ret = bpf_prog_query(INT(0), (enum bpf_attach_type)INT(1), 0,
                           &attach_flags, ids, &count);
  if (ret) return throw_bpf(env, "program query", err_of(ret), NULL);
  napi_value list;
  napi_create_array(env, &list);
  for (uint32_t i = 0; i < count && i < 64; i++) napi_set_element(env, list, i, int_value(env, ids[i]));
  return list;
}

static napi_value prog_fd_by_id(napi_env env, napi_callback_info info) {
  ARGS(1);
  int fd = bpf_prog_get_fd_by_id((uint32_t)INT(0));
  if (fd < 0) return throw_bpf(env, "program by id", err_of(fd), NULL);
  return int_value(env, fd);
}

// ---- tc clsact -----------------------------------------------------------------------------

static void tc_hook(struct bpf_tc_hook *hook, napi_env env, napi_value ifindex, napi_value ingress) {
  memset(hook, 0, sizeof(*hook));
  hook->sz = sizeof(*hook);
  hook->ifindex = arg_int(env, ifindex);
  hook->attach_point = arg_bool(env, ingress) ? BPF_TC_INGRESS : BPF_TC_EGRESS;
}

// tcHookCreate(ifindex, ingress): creates the clsact qdisc unless it exists.
static napi_value tc_hook_create(napi_env env, napi_callback_info info) {
  ARGS(2);
  struct bpf_tc_hook hook;
  tc_hook(&hook, env, argv[0], argv[1]);
  int ret = bpf_tc_hook_create(&hook);
  if (ret && ret != -EEXIST) return throw_bpf(env, "tc hook create", err_of(ret), NULL);
  return undefined(env);
}

// tcAttach(ifindex, ingress, progFd, priority, handle, replace) -> {priority, handle}
static napi_value tc_attach(napi_env env, napi_callback_info info) {
  ARGS(6);
  struct bpf_tc_hook hook;
  tc_hook(&hook, env, argv[0], argv[1]);
  LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = INT(2),
              .priority = (uint32_t)INT(3), .handle = (uint32_t)INT(4),
              .flags = arg_bool(env, argv[5]) ? BPF_TC_F_REPLACE : 0);
  int ret = bpf_tc_attach(&hook, &opts);
  if (ret) return throw_bpf(env, "tc attach", err_of(ret), NULL);
  napi_value o;
  napi_create_object(env, &o);
  set_prop(env, o, "priority", int_value(env, opts.priority));
  set_prop(env, o, "handle", int_value(env, opts.handle));
  set_prop(env, o, "progId", int_value(env, opts.prog_id));
  return o;
}

static napi_value tc_detach(napi_env env, napi_callback_info info) {
  ARGS(4);
  struct bpf_tc_hook hook;
  tc_hook(&hook, env, argv[0], argv[1]);
  LIBBPF_OPTS(bpf_tc_opts, opts, .priority = (uint32_t)INT(2),
              .handle = (uint32_t)INT(3));
  return done(env, "tc detach", bpf_tc_detach(&hook, &opts));
}

// tcQuery(ifindex, ingress, priority, handle) -> program id | undefined
static napi_value tc_query(napi_env env, napi_callback_info info) {
  ARGS(4);
  struct bpf_tc_hook hook;
  tc_hook(&hook, env, argv[0], argv[1]);
  LIBBPF_OPTS(bpf_tc_opts, opts, .priority = (uint32_t)INT(2),
              .handle = (uint32_t)INT(3));
  int ret = bpf_tc_query(&hook, &opts);
  if (ret == -ENOENT || ret == -EINVAL) return undefined(env);
  if (ret) return throw_bpf(env, "tc query", err_of(ret), NULL);
  return int_value(env, opts.prog_id);
}

// ---- ring buffer ---------------------------------------------------------------------------

enum ringbuf_state { RB_OPEN, RB_CLOSING, RB_CLOSED };

struct ringbuf_handle {
  napi_env env;
  struct ring_buffer *rb;
  uv_poll_t poll;
  napi_ref callback;
  napi_ref self;  // keeps the handle alive while it is open
  napi_async_context async;
  napi_value batch;  // records of the current consume, valid inside on_readable only
  uint32_t count;
  enum ringbuf_state state;
  bool free_when_closed;
};

static int on_record(void *ctx, void *data, size_t size) {
  struct ringbuf_handle *h = ctx;
  napi_value buf;
  napi_create_buffer_copy(h->env, size, data, NULL, &buf);
  napi_set_element(h->env, h->batch, h->count++, buf);
  return 0;
}

// Runs on the event loop when the ring buffer's epoll fd is readable: drains it and hands all
// records to the JS callback at once, callback(records, error).
static void on_readable(uv_poll_t *poll, int status, int events) {
  (void)events;
  struct ringbuf_handle *h = poll->data;
  if (h->state != RB_OPEN) return;
  napi_env env = h->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_create_array(env, &h->batch);
  h->count = 0;
  reset_msgs();
  int ret = status < 0 ? status : ring_buffer__consume(h->rb);
  napi_value argv[2] = {h->batch, undefined(env)};
  if (ret < 0) {
    napi_value code;
    napi_create_int32(env, -ret, &code);
    argv[1] = code;
  }
  if (h->count > 0 || ret < 0) {
    napi_value cb, resource, result;
    napi_get_reference_value(env, h->callback, &cb);
    napi_create_object(env, &resource);
    if (napi_make_callback(env, h->async, resource, cb, 2, argv, &result) != napi_ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value err;
        napi_get_and_clear_last_exception(env, &err);
        napi_fatal_exception(env, err);
      }
    }
  }
  napi_close_handle_scope(env, scope);
}

static void on_poll_closed(uv_handle_t *handle) {
  struct ringbuf_handle *h = handle->data;
  ring_buffer__free(h->rb);
  h->rb = NULL;
  h->state = RB_CLOSED;
  if (h->free_when_closed) free(h);
}

static void finalize_ringbuf(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct ringbuf_handle *h = data;
  if (h->state == RB_CLOSED) free(h);
  else h->free_when_closed = true;
}

// ringbufOpen(mapFd, callback(records, errno?)) -> handle
static napi_value ringbuf_open(napi_env env, napi_callback_info info) {
  ARGS(2);
  struct ringbuf_handle *h = calloc(1, sizeof(*h));
  h->env = env;
  h->rb = ring_buffer__new(INT(0), on_record, h, NULL);
  if (!h->rb) {
    int err = errno;
    free(h);
    return throw_bpf(env, "ring buffer open", err, NULL);
  }
  uv_loop_t *loop = NULL;
  napi_get_uv_event_loop(env, &loop);
  int ret = uv_poll_init(loop, &h->poll, ring_buffer__epoll_fd(h->rb));
  if (ret == 0) {
    h->poll.data = h;
    ret = uv_poll_start(&h->poll, UV_READABLE, on_readable);
  }
  if (ret) {
    ring_buffer__free(h->rb);
    free(h);
    return throw_bpf(env, "ring buffer poll", -ret, NULL);
  }
  napi_value result, name;
  napi_create_reference(env, argv[1], 1, &h->callback);
  napi_create_string_utf8(env, "skiff:ringbuf", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &h->async);
  napi_create_external(env, h, finalize_ringbuf, NULL, &result);
  napi_create_reference(env, result, 1, &h->self);
  return result;
}

static napi_value ringbuf_close(napi_env env, napi_callback_info info) {
  ARGS(1);
  struct ringbuf_handle *h = NULL;
  napi_get_value_external(env, argv[0], (void **)&h);
  if (!h || h->state != RB_OPEN) return undefined(env);
  h->state = RB_CLOSING;
  uv_poll_stop(&h->poll);
  uv_close((uv_handle_t *)&h->poll, on_poll_closed);
  napi_delete_reference(env, h->callback);
  napi_async_destroy(env, h->async);
  napi_delete_reference(env, h->self);
  return undefined(env);
}

// ringbufRef(handle, ref): whether an open reader keeps the process alive.
static napi_value ringbuf_ref(napi_env env, napi_callback_info info) {
  ARGS(2);
  struct ringbuf_handle *h = NULL;
  napi_get_value_external(env, argv[0], (void **)&h);
  if (h && h->state == RB_OPEN) {
    if (arg_bool(env, argv[1])) uv_ref((uv_handle_t *)&h->poll);
    else uv_unref((uv_handle_t *)&h->poll);
  }
  return undefined(env);
}

// ---- utilities -----------------------------------------------------------------------------

static napi_value num_possible_cpus(napi_env env, napi_callback_info info) {
  (void)info;
  reset_msgs();
  int n = libbpf_num_possible_cpus();
  if (n < 0) return throw_bpf(env, "possible cpus", -n, NULL);
  return int_value(env, n);
}

static napi_value if_name_to_index(napi_env env, napi_callback_info info) {
  ARGS(1);
  char *name = arg_string(env, argv[0]);
  unsigned idx = name ? if_nametoindex(name) : 0;
  int err = errno;
  napi_value result;
  if (idx == 0) {
    char op[128];
    snprintf(op, sizeof(op), "interface %s", name ? name : "");
    result = throw_bpf(env, op, name ? err : EINVAL, NULL);
  } else {
    result = int_value(env, idx);
  }
  free(name);
  return result;
}

// mountBpffs(path) -> true when it mounted, false when a bpffs was already there.
static napi_value mount_bpffs(napi_env env, napi_callback_info info) {
  ARGS(1);
  char *path = arg_string(env, argv[0]);
  struct statfs st;
  napi_value result;
  if (statfs(path, &st) == 0 && (unsigned long)st.f_type == SKIFF_BPF_FS_MAGIC) {
    result = boolean(env, false);
  } else if (mount("bpf", path, "bpf", 0, "mode=0700") == 0) {
    result = boolean(env, true);
  } else {
    char op[512];
    snprintf(op, sizeof(op), "mount bpffs at %s", path);
    result = throw_bpf(env, op, errno, NULL);
  }
  free(path);
  return result;
}

#define EXPORT(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_enumerable, NULL}

static napi_value init(napi_env env, napi_value exports) {
  libbpf_set_print(on_libbpf_print);
  napi_property_descriptor props[] = {
      EXPORT("setErrorFactory", set_error_factory),
      EXPORT("objectOpen", object_open),
      EXPORT("objectLoad", object_load),
      EXPORT("objectClose", object_close),
      EXPORT("objectContents", object_contents),
      EXPORT("mapSetMaxEntries", map_set_max_entries),
      EXPORT("mapLookup", map_lookup),
      EXPORT("mapUpdate", map_update),
      EXPORT("mapDelete", map_delete),
      EXPORT("mapLookupAndDelete", map_lookup_and_delete),
      EXPORT("mapNextKey", map_next_key),
      EXPORT("mapUpdateBatch", map_update_batch),
      EXPORT("mapDeleteBatch", map_delete_batch),
      EXPORT("objPin", obj_pin),
      EXPORT("objGet", obj_get),
      EXPORT("closeFd", close_fd),
      EXPORT("mapInfo", map_info),
      EXPORT("progInfo", prog_info),
      EXPORT("linkInfo", link_info),
      EXPORT("linkCreate", link_create),
      EXPORT("linkDetach", link_detach),
      EXPORT("linkUpdate", link_update),
      EXPORT("progQuery", prog_query),
      EXPORT("progFdById", prog_fd_by_id),
      EXPORT("tcHookCreate", tc_hook_create),
      EXPORT("tcAttach", tc_attach),
      EXPORT("tcDetach", tc_detach),
      EXPORT("tcQuery", tc_query),
      EXPORT("ringbufOpen", ringbuf_open),
      EXPORT("ringbufClose", ringbuf_close),
      EXPORT("ringbufRef", ringbuf_ref),
      EXPORT("numPossibleCpus", num_possible_cpus),
      EXPORT("ifNameToIndex", if_name_to_index),
      EXPORT("mountBpffs", mount_bpffs),
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);

  napi_value constants;
  napi_create_object(env, &constants);
  struct {
    const char *name;
    int value;
  } consts[] = {
      {"TCX_INGRESS", SKIFF_TCX_INGRESS},
      {"TCX_EGRESS", SKIFF_TCX_EGRESS},
      {"CGROUP_INET_INGRESS", BPF_CGROUP_INET_INGRESS},
      {"CGROUP_INET_EGRESS", BPF_CGROUP_INET_EGRESS},
      {"CGROUP_INET_SOCK_CREATE", BPF_CGROUP_INET_SOCK_CREATE},
      {"CGROUP_INET4_BIND", BPF_CGROUP_INET4_BIND},
      {"CGROUP_INET6_BIND", BPF_CGROUP_INET6_BIND},
      {"CGROUP_INET4_CONNECT", BPF_CGROUP_INET4_CONNECT},
      {"CGROUP_INET6_CONNECT", BPF_CGROUP_INET6_CONNECT},
      {"CGROUP_INET4_POST_BIND", BPF_CGROUP_INET4_POST_BIND},
      {"CGROUP_INET6_POST_BIND", BPF_CGROUP_INET6_POST_BIND},
      {"CGROUP_UDP4_SENDMSG", BPF_CGROUP_UDP4_SENDMSG},
      {"CGROUP_UDP6_SENDMSG", BPF_CGROUP_UDP6_SENDMSG},
      {"CGROUP_UDP4_RECVMSG", BPF_CGROUP_UDP4_RECVMSG},
      {"CGROUP_UDP6_RECVMSG", BPF_CGROUP_UDP6_RECVMSG},
      {"CGROUP_INET4_GETPEERNAME", BPF_CGROUP_INET4_GETPEERNAME},
      {"CGROUP_INET6_GETPEERNAME", BPF_CGROUP_INET6_GETPEERNAME},
      {"CGROUP_INET4_GETSOCKNAME", BPF_CGROUP_INET4_GETSOCKNAME},
      {"CGROUP_INET6_GETSOCKNAME", BPF_CGROUP_INET6_GETSOCKNAME},
      {"CGROUP_SOCK_OPS", BPF_CGROUP_SOCK_OPS},
      {"LINK_TYPE_CGROUP", BPF_LINK_TYPE_CGROUP},
      {"LINK_TYPE_TCX", 11},
      {"ANY", BPF_ANY},
      {"NOEXIST", BPF_NOEXIST},
      {"EXIST", BPF_EXIST},
  };
  for (size_t i = 0; i < sizeof(consts) / sizeof(consts[0]); i++)
    set_prop(env, constants, consts[i].name, int_value(env, consts[i].value));
  set_prop(env, exports, "constants", constants);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
