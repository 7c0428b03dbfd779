// Shell completion generated from the command list, run in real bash and zsh: command names, each
// command's flags and positional choices, -o formats; and the help of every operator command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { commands } from '../../cli/commands/all.js';
import { completionSpec } from '../../cli/commands/completion.js';
import { skiff } from './run-skiff.js';

const OPERATOR_COMMANDS = ['proxy-status', 'proxy-config', 'bpf', 'observe', 'completion'];

/** What bash completes for the words typed so far (the last one being completed). */
function bashComplete(script: string, words: string[]): string[] {
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const r = spawnSync('bash', ['-c', `${script}\nCOMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _skiff; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

/** What the zsh function offers, with zsh's completion builtins recording their arguments. */
function zshComplete(script: string, words: string[]): string[] {
  const harness = `compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@" }
_describe() { local -a items; items=("\${(@P)2}"); print -rl -- "\${items[@]%%:*}" }
compdef() { : }
${script}
words=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length}; _skiff`;
  const r = spawnSync('zsh', ['-f', '-c', harness], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

test('skiff completion bash: commands, positional choices, flags and -o formats complete in bash', async () => {
  const r = await skiff('completion', 'bash');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(bashComplete(r.stdout, ['skiff', 'proxy-']), ['proxy-status', 'proxy-config']);
  assert.deepEqual(bashComplete(r.stdout, ['skiff', 'bpf', '']), ['services', 'backends', 'identities', 'policy', 'ct', 'endpoints']);
  assert.deepEqual(bashComplete(r.stdout, ['skiff', 'observe', '--v']), ['--verdict']);
  assert.deepEqual(bashComplete(r.stdout, ['skiff', 'proxy-status', '-o', '']), ['table', 'wide', 'json', 'yaml']);
  assert.deepEqual(bashComplete(r.stdout, ['skiff', 'mesh', '--c']), ['--config'], "other commands' flags come from their help too");
});

test('skiff completion zsh: the same in zsh', async () => {
  const r = await skiff('completion', 'zsh');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^#compdef skiff\n/);
  assert.equal(spawnSync('zsh', ['-n', '-c', r.stdout]).status, 0, 'the script parses');
  const all = zshComplete(r.stdout, ['skiff', '']);
  for (const name of OPERATOR_COMMANDS) assert.ok(all.includes(name), `${name} in ${all.join(' ')}`);
  assert.deepEqual(zshComplete(r.stdout, ['skiff', 'proxy-config', '']), ['listeners', 'routes', 'clusters', 'endpoints', 'secrets', 'all']);
  assert.deepEqual(zshComplete(r.stdout, ['skiff', 'bpf', '-o', '']), ['table', 'json', 'yaml']);
  assert.ok(zshComplete(r.stdout, ['skiff', 'observe', '--']).includes('--follow'));
  const usage = await skiff('completion', 'fish');
  assert.equal(usage.code, 2);
});

test('each operator command has help with its flags and an example, and consistent -o/--output', () => {
  for (const name of OPERATOR_COMMANDS) {
    const command = commands.find((c) => c.name === name);
    assert.ok(command, name);
    assert.match(command.help, new RegExp(`^Usage: skiff ${name} `));
    assert.match(command.help, new RegExp(`\\nExamples:\\n  (source <\\()?skiff ${name}`), `${name} has an example`);
    const spec = completionSpec(command);
    if (name !== 'completion') assert.ok(spec.flags.includes('-o') && spec.flags.includes('--output'), `${name}: -o and --output`);
  }
  assert.deepEqual(completionSpec(commands.find((c) => c.name === 'observe') as never).flags.filter((f) => f.startsWith('-') && !f.startsWith('--')), ['-f', '-o']);
});
