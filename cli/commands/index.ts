// The list of `skiff` subcommands, in the order `skiff --help` shows them.
import type { Command } from '../command.js';
import { versionCommand } from './version.js';
import { envoyBootstrapCommand } from './envoy-bootstrap.js';
import { redirectorCommand } from './redirector.js';
import { meshCommand } from './mesh.js';
import { proxyStatusCommand } from './proxy-status.js';
import { proxyConfigCommand } from './proxy-config.js';
import { bpfCommand } from './bpf.js';
import { observeCommand } from './observe.js';
import { completionCommand } from './completion.js';
import { controlPlaneCommand } from './control-plane.js';
import { demoCommand } from './demo.js';
import { tunnelCommand } from './tunnel.js';

export const commands: Command[] = [versionCommand, envoyBootstrapCommand, redirectorCommand, meshCommand, proxyStatusCommand, proxyConfigCommand, bpfCommand, observeCommand, completionCommand, controlPlaneCommand, demoCommand, tunnelCommand];
