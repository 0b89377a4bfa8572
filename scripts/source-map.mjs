// The bundle's source map, cut down to Stoa's own sources (scripts/build.mjs).
//
// Node decodes the whole map the first time it formats a stack trace, and keeps it: with the dependencies' code
// mapped too that was ~77 MB of heap for good. Without their mappings a position inside a dependency shows as a
// position in the bundle, which names the package well enough.
import { decode, encode } from '@jridgewell/sourcemap-codec';

const isDependency = (source) => source.split('/').includes('node_modules');

/**
 * `map` without the sources under node_modules: their segments are dropped, and where one follows a mapped
 * segment a one-field segment ends that mapping, so the dependency's code maps to nothing rather than to the
 * Stoa code before it. Node looks a position up across lines (the nearest segment at or before it), so "before"
 * includes the end of an earlier line.
 */
export function ownSourcesOnly(map) {
  const own = map.sources.map((source) => !isDependency(source));
  const sourceIndex = [];
  const sources = [];
  map.sources.forEach((source, i) => {
    if (own[i]) sourceIndex[i] = sources.push(source) - 1;
  });
  const nameIndex = new Map();
  const names = [];
  let mappedBefore = false;
  const mappings = decode(map.mappings).map((line) => {
    const kept = [];
    for (const segment of line) {
      if (segment.length === 1 || !own[segment[1]]) {
        if (mappedBefore) kept.push([segment[0]]);
        mappedBefore = false;
        continue;
      }
      const [column, source, sourceLine, sourceColumn, name] = segment;
      const mapped = [column, sourceIndex[source], sourceLine, sourceColumn];
      if (name !== undefined) {
        if (!nameIndex.has(name)) nameIndex.set(name, names.push(map.names[name]) - 1);
        mapped.push(nameIndex.get(name));
      }
      kept.push(mapped);
      mappedBefore = true;
    }
    return kept;
  });
  return { ...map, sources, names, mappings: encode(mappings) };
}
