// The list of `skiff` subcommands, in the order `skiff --help` shows them.
import type { Command } from '../command.js';
import { versionCommand } from './version.js';
import { envoyBootstrapCommand } from './envoy-bootstrap.js';
import { redirectorCommand } from './redirector.js';
import { meshCommand } from './mesh.js';
import { controlPlaneCommand } from './control-plane.js';

export const commands: Command[] = [versionCommand, envoyBootstrapCommand, redirectorCommand, meshCommand, controlPlaneCommand];
