// Gateway API durations (`1h30m`, `500ms`, `10s`; GEP-2257) as google.protobuf.Duration objects.

export interface ProtoDuration {
  seconds: number;
  nanos: number;
}

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
const PART = /([0-9]{1,5})(ms|h|m|s)/y;

/** Milliseconds of a Gateway API duration, or an Error saying why the text is not one. */
export function parseGatewayDuration(text: string): number | Error {
  if (text.length === 0) return new Error('empty duration');
  let total = 0;
  let parts = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const start = PART.lastIndex;
    const m = PART.exec(text);
    if (!m) return new Error(`invalid duration '${text}' at offset ${start} (want e.g. 1h30m, 500ms)`);
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    parts++;
  }
  if (parts > 4) return new Error(`invalid duration '${text}': more than 4 parts`);
  return total;
}

export function msToDuration(ms: number): ProtoDuration {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}
