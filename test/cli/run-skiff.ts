// Runs the real `skiff` binary as a child process (asynchronously, so servers in the test process
// keep answering it) and collects its exit code and output.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const skiffBin = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

export interface SkiffResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function skiff(...args: string[]): Promise<SkiffResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [skiffBin, ...args], { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
