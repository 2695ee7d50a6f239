/** mulberry32: a small seeded PRNG, so the same seed always gives the same stream. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of a string, to derive independent seeds per device and tick. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** An rng for one (seed, stream, tick): independent of how many numbers other streams drew. */
export function rngFor(seed: number, stream: string, tick: number): () => number {
  return mulberry32(hashString(`${seed}:${stream}:${tick}`));
}

/** Roughly normal noise (sum of uniforms), mean 0, standard deviation `sd`. */
export function noise(rng: () => number, sd: number): number {
  return (rng() + rng() + rng() + rng() - 2) * sd * Math.sqrt(3);
}
