// The demo's start-up progress on stderr: on a terminal, a spinner line per step that turns into
// `✓ step (time)`; otherwise one `✓ step (time)` line per finished step. Failed steps show `✗`.
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface StepTime {
  step: string;
  ms: number;
}

export class Progress {
  readonly times: StepTime[] = [];
  readonly #out: NodeJS.WriteStream;
  readonly #tty: boolean;

  constructor(out: NodeJS.WriteStream = process.stderr) {
    this.#out = out;
    this.#tty = out.isTTY === true;
  }

  #line(text: string): void {
    this.#out.write(this.#tty ? `\r\x1b[2K${text}` : text);
  }

  /** Runs one step, showing it while it runs and its time when done. */
  async step<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    const start = performance.now();
    let frame = 0;
    const spin = this.#tty ? setInterval(() => this.#line(`${FRAMES[frame++ % FRAMES.length]} ${name}…`), 80) : undefined;
    if (this.#tty) this.#line(`${FRAMES[0]} ${name}…`);
    try {
      const value = await fn();
      const ms = Math.round(performance.now() - start);
      this.times.push({ step: name, ms });
      this.#line(`✓ ${name} (${formatMs(ms)})\n`);
      return value;
    } catch (err) {
      this.#line(`✗ ${name} (${formatMs(Math.round(performance.now() - start))})\n`);
      throw err;
    } finally {
      clearInterval(spin);
    }
  }

  /** A line of its own (a note between steps). */
  note(text: string): void {
    this.#line(`  ${text}\n`);
  }
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
