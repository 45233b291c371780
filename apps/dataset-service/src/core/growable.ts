/** Append-only typed arrays: per-row numbers at 8 (or 4) bytes a row, not a boxed number each. */

type Typed = Float64Array | Uint32Array;

/** A growable typed array. */
export class Growable<T extends Typed> {
  private data: T;
  length = 0;

  constructor(private readonly make: (n: number) => T) {
    this.data = make(1024);
  }

  push(value: number): void {
    if (this.length === this.data.length) {
      const next = this.make(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = value;
  }

  at(index: number): number {
    return this.data[index]!;
  }

  /** A view of the values pushed so far. */
  view(): T {
    return this.data.subarray(0, this.length) as T;
  }
}

/** Doubles (split keys: integers below 2^48). */
export const float64s = (): Growable<Float64Array> => new Growable((n) => new Float64Array(n));
/** Unsigned 32-bit integers (token counts). */
export const uint32s = (): Growable<Uint32Array> => new Growable((n) => new Uint32Array(n));
