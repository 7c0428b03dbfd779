// Attaching socket-level programs (SEC("cgroup/connect4") and friends) to a cgroup v2 directory
// through a link, e.g. for socket load balancing. cgroup v2 is at /sys/fs/cgroup/unified on hybrid
// hosts and at /sys/fs/cgroup on unified ones.
import { closeSync, openSync } from 'node:fs';
import { BpfLink, type ProgramFd } from './link.js';
import { native } from './native.js';

const c = native.constants;
/** Our names for the cgroup attach types, as in the programs' SEC("cgroup/NAME"). */
export const cgroupAttachTypes = {
  ingress: c.CGROUP_INET_INGRESS,
  egress: c.CGROUP_INET_EGRESS,
  sock_create: c.CGROUP_INET_SOCK_CREATE,
  sock_ops: c.CGROUP_SOCK_OPS,
  bind4: c.CGROUP_INET4_BIND,
  bind6: c.CGROUP_INET6_BIND,
  post_bind4: c.CGROUP_INET4_POST_BIND,
  post_bind6: c.CGROUP_INET6_POST_BIND,
  connect4: c.CGROUP_INET4_CONNECT,
  connect6: c.CGROUP_INET6_CONNECT,
  sendmsg4: c.CGROUP_UDP4_SENDMSG,
  sendmsg6: c.CGROUP_UDP6_SENDMSG,
  recvmsg4: c.CGROUP_UDP4_RECVMSG,
  recvmsg6: c.CGROUP_UDP6_RECVMSG,
  getpeername4: c.CGROUP_INET4_GETPEERNAME,
  getpeername6: c.CGROUP_INET6_GETPEERNAME,
  getsockname4: c.CGROUP_INET4_GETSOCKNAME,
  getsockname6: c.CGROUP_INET6_GETSOCKNAME,
} as const;

export type CgroupAttachType = keyof typeof cgroupAttachTypes;

/** Attaches prog to the cgroup directory at cgroupPath; pin the link to keep it past the process. */
export function attachCgroup(cgroupPath: string, prog: ProgramFd, attachType: CgroupAttachType): BpfLink {
  const fd = openSync(cgroupPath, 'r');
  try {
    return BpfLink.create(prog, fd, cgroupAttachTypes[attachType]);
  } finally {
    closeSync(fd);
  }
}
